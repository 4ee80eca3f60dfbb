// Placeholder until the search runner lands.
enum PipelinePlaceholder {}
