import KilnCore

/// Decodes a `Decodable` value from a row, matching coding keys to column names.
struct RowDecoder: Decoder {
    let row: Row
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DatabaseError(.featureNotSupported, "rows decode as keyed containers (structs with column names)")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DatabaseError(.featureNotSupported, "rows decode as keyed containers (structs with column names)")
    }
}

struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: Row
    var codingPath: [any CodingKey] = []
    var allKeys: [Key] { row.columns.compactMap { Key(stringValue: $0.name) } }

    func contains(_ key: Key) -> Bool { row[key.stringValue] != nil }

    func value(_ key: Key) throws -> Value {
        guard let value = row[key.stringValue] else {
            throw DatabaseError(.undefinedColumn, "the result has no column \"\(key.stringValue)\"")
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key).isNull }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        if let convertible = T.self as? any SQLValueConvertible.Type {
            return try convertible.convert(try value(key), column: key.stringValue) as! T
        }
        throw DatabaseError(.featureNotSupported, "cannot decode column \"\(key.stringValue)\" as \(T.self)")
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DatabaseError(.featureNotSupported, "nested containers are not supported in rows")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DatabaseError(.featureNotSupported, "nested containers are not supported in rows")
    }

    func superDecoder() throws -> any Decoder { RowDecoder(row: row) }
    func superDecoder(forKey key: Key) throws -> any Decoder { RowDecoder(row: row) }
}
