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
        try self.init(json: json, parentPath: path, key: nil)
    }

    /// The node of `json` at `key` under the node whose path is `parentPath`: its path
    /// is written out only when asked for, and a container's once for its children.
    private init(json: JSON, parentPath: String, key: String?) throws {
        func made(_ content: Content) -> ConfigNode {
            ConfigNode(parentPath: parentPath, key: key, line: nil, content: content)
        }
        switch json {
        case .null:
            self = made(.null)
        case .bool(let value):
            self = made(.scalar(value ? "true" : "false", plain: true))
        case .integer(let value):
            self = made(.scalar(String(value), plain: true))
        case .number(let value):
            // Kept as the number: a plain scalar of its shortest text to every reader
            // but `double`, which takes it as it is (`ConfigNode.Content.number`).
            self = made(.number(value))
        case .string(let text):
            self = made(.scalar(text, plain: false))
        case .array(let items):
            let path = NodePath.text(parentPath, key)
            var nodes: [ConfigNode] = []
            nodes.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                nodes.append(try ConfigNode(json: item, parentPath: path, key: String(index + 1)))
            }
            self = made(.sequence(nodes))
        case .object(let members):
            let path = NodePath.text(parentPath, key)
            var entries: [Entry] = []
            entries.reserveCapacity(members.count)
            for member in members {
                // Objects are small (a configuration's widest has a dozen keys): a scan beats hashing.
                if entries.contains(where: { $0.key == member.key }) {
                    throw ConfigError(path: ConfigNode.join(path, member.key), message: "given more than once in the same mapping")
                }
                entries.append(Entry(key: member.key, keyLine: nil,
                                     value: try ConfigNode(json: member.value, parentPath: path, key: member.key)))
            }
            self = made(.mapping(entries))
        }
    }
}
