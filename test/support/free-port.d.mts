/** A 127.0.0.1 port nothing listens on right now (a probe socket bound to port 0, then closed): connecting to it is refused. */
export function freePort(): Promise<number>;
