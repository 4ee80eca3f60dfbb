// Placeholder until Cluster lands.
enum ClusterPlaceholder {}
