// Placeholder until the surrogate lands.
enum SurrogatePlaceholder {}
