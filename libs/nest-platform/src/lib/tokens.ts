export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const EVENT_PRODUCER = Symbol('EVENT_PRODUCER');
export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');
/** The HTTP API's small read pool (a TypeORM DataSource with a statement_timeout), apart from the consumers'. */
export const READ_DATA_SOURCE = Symbol('READ_DATA_SOURCE');
