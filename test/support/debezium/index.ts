/**
 * Test fixtures built from Debezium's own code: Kafka records exactly as the Debezium MongoDB
 * connector writes them through Kafka Connect's JsonConverter (see NOTES.md in this folder).
 */
export * from "./Bson.ts"
export * from "./Connect.ts"
export * from "./ExtractNewDocumentState.ts"
export * from "./JavaJson.ts"
export * from "./Records.ts"
export * from "./Versions.ts"
