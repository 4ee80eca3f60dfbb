// Placeholder until the ZeroMQ wrapper lands.
enum ZeroMQPlaceholder {}
