/// Fixed-size records in chunks that never move, plus an array of their addresses.
///
/// Hash-table entries, sort buffers and result buffers are record stores; compiled code holds
/// record pointers only while the store lives.
public final class RecordStore {
    public let recordSize: Int
    private var chunks: [UnsafeMutableRawPointer] = []
    private var used = 0
    private var chunkCapacity: Int
    public private(set) var pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    public private(set) var count = 0
    private var pointerCapacity = 1024

    public init(recordSize: Int) {
        self.recordSize = recordSize
        chunkCapacity = max(1, (1 << 16) / recordSize)
        pointers = .allocate(capacity: pointerCapacity)
        used = chunkCapacity
    }

    deinit {
        for chunk in chunks { chunk.deallocate() }
        pointers.deallocate()
    }

    /// A new zeroed record.
    public func append() -> UnsafeMutableRawPointer {
        if used == chunkCapacity {
            let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkCapacity * recordSize, alignment: 16)
            chunks.append(chunk)
            used = 0
        }
        let record = chunks[chunks.count - 1] + used * recordSize
        used += 1
        record.initializeMemory(as: UInt8.self, repeating: 0, count: recordSize)
        if count == pointerCapacity {
            let grown = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: pointerCapacity * 2)
            grown.update(from: pointers, count: count)
            pointers.deallocate()
            pointers = grown
            pointerCapacity *= 2
        }
        pointers[count] = record
        count += 1
        return record
    }

    public func record(_ index: Int) -> UnsafeMutableRawPointer { pointers[index]! }
}
