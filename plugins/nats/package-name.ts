/** The npm package the nats transport needs; an optional peer dependency of spear-comm. */
export const NATS_PACKAGE = '@nats-io/transport-node';
