/** Entries serialised together: about 40 KB of text for zreg's entries. */
const entriesPerPart = 100

/**
 * The text of an OCI index `{ ...head, manifests }` (the entries of each group of `manifests` in turn),
 * byte for byte `${JSON.stringify(index, null, 2)}\n`, as parts made one at a time while they are
 * written. The whole text of 100,000 tags (42 MB) made at once is one string V8 joins from pieces when
 * it is first read, which cost 200-250 ms here, with all of it in memory; a part of about 40 KB stays
 * in V8's young generation, whose memory is reused.
 */
export function* indexTextParts(head: object, manifests: readonly (readonly object[])[]): Generator<string> {
  const entries = manifests.flatMap((group) => (group.length === 0 ? [] : [group]))
  if (entries.length === 0) {
    yield `${JSON.stringify({ ...head, manifests: [] }, null, 2)}\n`
    return
  }
  // The head's members, then the array's opening: `{\n  "a": 1,\n  "manifests": [`.
  const members = JSON.stringify(head, null, 2)
  yield `${members === '{}' ? '{' : `${members.slice(0, -2)},`}\n  "manifests": [`
  let first = true
  for (const group of entries) {
    for (let at = 0; at < group.length; at += entriesPerPart) {
      // An array of some entries, its items two levels deep as in the whole: one more level per line.
      const items = JSON.stringify(group.slice(at, at + entriesPerPart), null, 2).slice(1, -2).replaceAll('\n', '\n  ')
      yield first ? items : `,${items}`
      first = false
    }
  }
  yield '\n  ]\n}\n'
}
