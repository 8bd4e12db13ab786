import { Transform, type TransformCallback } from 'node:stream'
import type { DigestCounter } from '../oci/digest.js'

/**
 * A stream that passes its bytes through unchanged while `counter` hashes and counts them; `check`
 * runs after each chunk and may throw to stop the stream (a blob growing past its declared size).
 * A Transform rather than an async generator: `for await` over a Readable takes everything buffered
 * at once, which concatenates (copies) the chunks, while a Transform is handed each chunk as pushed.
 */
export function digestTransform(counter: DigestCounter, check: (counter: DigestCounter) => void = () => undefined): Transform {
  return new Transform({
    // As large as the archive reads and upload writes, so a chunk is not split on its way through.
    highWaterMark: 2 * 1024 * 1024,
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      try {
        counter.update(chunk)
        check(counter)
        done(null, chunk)
      } catch (error) {
        done(error as Error)
      }
    },
  })
}
