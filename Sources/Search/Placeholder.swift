// Placeholder until designs land.
enum SearchPlaceholder {}
