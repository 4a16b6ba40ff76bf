export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const EVENT_PRODUCER = Symbol('EVENT_PRODUCER');
export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');
