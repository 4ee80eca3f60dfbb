// Placeholder until ClusterCore lands.
enum ClusterCorePlaceholder {}
