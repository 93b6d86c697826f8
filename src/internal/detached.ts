/**
 * A copy of `text` that shares no memory with it (a flat string of its own). A source may cut its
 * records' strings out of a larger one (the JSON-Lines source cuts lines out of a block of the
 * file): a piece kept for long (a dead letter held in memory, a key in a table) would otherwise
 * keep the whole block alive, and every read of it goes through the block.
 *
 * @internal
 */
export const detached = (text: string): string => JSON.parse(JSON.stringify(text)) as string
