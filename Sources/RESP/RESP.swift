// The RESP module: RESP2/RESP3 codec (Codec/), a pipelined client (Client/) and a Redis
// Cluster client (Cluster/).
