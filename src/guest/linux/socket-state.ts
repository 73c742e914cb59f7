/**
 * `argo_state`: where an argo_private (a socket) stands. BOUND, LISTENING, CONNECTING and
 * CONNECTED are held only by the socket that owns (sponsors) its ring; ACCEPTED sockets share their
 * listener's ring. `CLOSED` is the model's own: the socket was released (the driver frees it).
 *
 * @example
 * ```ts
 * if (socket.state === 'CONNECTED') await socket.send(bytes);
 * ```
 */
export type ArgoSocketState = 'IDLE' | 'BOUND' | 'LISTENING' | 'ACCEPTED' | 'CONNECTING' | 'CONNECTED' | 'DISCONNECTED' | 'CLOSED';

/**
 * `argo_rtype`: how the VIRQ handler treats a ring. IDLE rings have whatever arrives thrown away,
 * DGRAM rings wake their reader, LISTENER and CONNECTOR rings are demultiplexed into the stream
 * sockets' pending lists.
 *
 * @example
 * ```ts
 * driver.ringList.filter((r) => r.type === 'LISTENER');
 * ```
 */
export type ArgoRingType = 'IDLE' | 'DGRAM' | 'LISTENER' | 'CONNECTOR';
