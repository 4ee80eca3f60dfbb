// Configuration nodes straight from parsed JSON (`DuetSupport.JSON`), for readers that
// already hold a JSON value (`duet serve`'s request bodies): the same nodes YAML
// parsing of the same text gives, so `ConfigLoader` and its schema read them
// unchanged, without composing the text again through Yams.

import DuetSupport

extension ConfigNode {
    /// The node of a JSON value at `path` (dotted and 1-based, as YAML's): strings are
    /// quoted scalars (never read as numbers), numbers and booleans plain scalars, null
    /// is null. A key given twice in one object is refused, as the YAML reader does.
    public init(json: JSON, path: String = "") throws {
        switch json {
        case .null:
            self.init(path: path, line: nil, content: .null)
        case .bool(let value):
            self.init(path: path, line: nil, content: .scalar(value ? "true" : "false", plain: true))
        case .integer(let value):
            self.init(path: path, line: nil, content: .scalar(String(value), plain: true))
        case .number(let value):
            // Kept as the number: a plain scalar of its shortest text to every reader
            // but `double`, which takes it as it is (`ConfigNode.Content.number`).
            self.init(path: path, line: nil, content: .number(value))
        case .string(let text):
            self.init(path: path, line: nil, content: .scalar(text, plain: false))
        case .array(let items):
            var nodes: [ConfigNode] = []
            nodes.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                nodes.append(try ConfigNode(json: item, path: ConfigNode.join(path, String(index + 1))))
            }
            self.init(path: path, line: nil, content: .sequence(nodes))
        case .object(let members):
            var entries: [Entry] = []
            entries.reserveCapacity(members.count)
            for member in members {
                // Objects are small (a configuration's widest has a dozen keys): a scan beats hashing.
                if entries.contains(where: { $0.key == member.key }) {
                    throw ConfigError(path: ConfigNode.join(path, member.key), message: "given more than once in the same mapping")
                }
                entries.append(Entry(key: member.key, keyLine: nil,
                                     value: try ConfigNode(json: member.value, path: ConfigNode.join(path, member.key))))
            }
            self.init(path: path, line: nil, content: .mapping(entries))
        }
    }
}
