#include "core/graph/snapshot_file.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <type_traits>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/common/varint.h"

namespace memhound::graph {

namespace {

constexpr char kMagic[8] = {'M', 'H', 'S', 'N', 'A', 'P', '\r', '\n'};

class Writer {
public:
    template <typename T>
    void fixed(T value) {
        static_assert(std::is_trivially_copyable_v<T>);
        m_out.append(reinterpret_cast<const char*>(&value), sizeof(T));
    }
    // A std::vector or a graph Column.
    template <typename Values>
    void column(const Values& values) {
        fixed<std::uint64_t>(values.size());
        m_out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(values[0]));
    }
    void strings(const std::vector<std::string>& values) {
        fixed<std::uint64_t>(values.size());
        for (const std::string& s : values) {
            fixed<std::uint64_t>(s.size());
            m_out.append(s);
        }
    }
    void raw(const void* data, std::size_t size) { m_out.append(static_cast<const char*>(data), size); }
    std::string& bytes() { return m_out; }

private:
    std::string m_out;
};

class Reader {
public:
    explicit Reader(std::string_view bytes) : m_cursor(bytes) {}

    template <typename T>
    T fixed() {
        T value = m_cursor.fixed<T>();
        check("truncated snapshot");
        return value;
    }
    template <typename T>
    std::vector<T> column(const char* what) {
        std::size_t at = m_cursor.offset();
        auto count = fixed<std::uint64_t>();
        if (count > m_cursor.remaining() / sizeof(T))
            throw common::FormatError(std::string("bad ") + what + " length", at);
        std::vector<T> values(count);
        std::string_view raw = m_cursor.bytes(count * sizeof(T));
        if (count) std::memcpy(values.data(), raw.data(), raw.size());
        return values;
    }
    std::vector<std::string> strings(const char* what) {
        std::size_t at = m_cursor.offset();
        auto count = fixed<std::uint64_t>();
        if (count > m_cursor.remaining() / 8)
            throw common::FormatError(std::string("bad ") + what + " count", at);
        std::vector<std::string> values;
        values.reserve(count);
        for (std::uint64_t i = 0; i < count; ++i) {
            auto length = fixed<std::uint64_t>();
            std::string_view text = m_cursor.bytes(length);
            check("truncated string");
            values.emplace_back(text);
        }
        return values;
    }
    std::string_view bytes(std::size_t n) {
        std::string_view out = m_cursor.bytes(n);
        check("truncated snapshot");
        return out;
    }
    std::size_t offset() const { return m_cursor.offset(); }
    [[noreturn]] void fail(const std::string& what) const {
        throw common::FormatError(what, m_cursor.offset());
    }

private:
    void check(const char* what) {
        if (!m_cursor.ok()) throw common::FormatError(what, m_cursor.offset());
    }
    common::ByteCursor m_cursor;
};

// Columns as stored: roots are written field by field (the struct has padding).
void writeRoots(Writer& w, const std::vector<Root>& roots) {
    w.fixed<std::uint64_t>(roots.size());
    for (const Root& r : roots) {
        w.fixed<std::uint32_t>(r.node.value);
        w.fixed<std::uint8_t>(static_cast<std::uint8_t>(r.kind));
        w.fixed<std::uint32_t>(r.label);
    }
}

std::vector<Root> readRoots(Reader& r) {
    std::size_t at = r.offset();
    auto count = r.fixed<std::uint64_t>();
    if (count > (1ull << 32)) throw common::FormatError("bad root count", at);
    std::vector<Root> roots;
    for (std::uint64_t i = 0; i < count; ++i) {
        Root root;
        root.node = NodeId(r.fixed<std::uint32_t>());
        auto kind = r.fixed<std::uint8_t>();
        if (kind >= kRootKindCount) r.fail("bad root kind");
        root.kind = static_cast<RootKind>(kind);
        root.label = r.fixed<std::uint32_t>();
        roots.push_back(root);
    }
    return roots;
}

void writePathLabels(Writer& w, const std::vector<PathLabel>& labels) {
    std::vector<std::uint8_t> kinds;
    std::vector<std::uint32_t> texts, owners;
    for (const PathLabel& l : labels) {
        kinds.push_back(l.kind);
        texts.push_back(l.label);
        owners.push_back(l.owner);
    }
    w.column(kinds);
    w.column(texts);
    w.column(owners);
}

std::vector<PathLabel> readPathLabels(Reader& r) {
    auto kinds = r.column<std::uint8_t>("path label kinds");
    auto texts = r.column<std::uint32_t>("path labels");
    auto owners = r.column<std::uint32_t>("path owners");
    if (texts.size() != kinds.size() || owners.size() != kinds.size()) r.fail("path label columns disagree");
    std::vector<PathLabel> labels(kinds.size());
    for (std::size_t i = 0; i < kinds.size(); ++i) labels[i] = {kinds[i], texts[i], owners[i]};
    return labels;
}

std::vector<std::uint64_t> sizesOf(const ObjectGraph& g) {
    std::vector<std::uint64_t> sizes(g.nodeCount());
    for (std::uint32_t v = 0; v < g.nodeCount(); ++v) sizes[v] = g.shallowSize(NodeId(v));
    return sizes;
}

// Rebuilds the graph through the checking builder, so bad ids become errors, never bad reads.
ObjectGraph graphFromColumns(Reader& r, std::size_t at) {
    auto offsets = r.column<std::uint32_t>("offsets");
    auto targets = r.column<std::uint32_t>("targets");
    auto sizes = r.column<std::uint64_t>("sizes");
    auto types = r.column<std::uint32_t>("types");
    auto addresses = r.column<std::uint64_t>("addresses");
    std::vector<Root> roots = readRoots(r);
    std::size_t n = types.size();
    if (offsets.size() != n + 1 || sizes.size() != n || addresses.size() != n || n > kMaxNodes) {
        throw common::FormatError("node columns disagree", at);
    }
    if (offsets[0] != 0 || offsets[n] != targets.size()) throw common::FormatError("bad edge offsets", at);
    GraphBuilder builder;
    builder.reserve(n, targets.size());
    for (std::size_t v = 0; v < n; ++v) {
        NodeId node = builder.addNode(addresses[v]);
        builder.setSize(node, sizes[v]);
        builder.setType(node, TypeId(types[v]));
    }
    for (std::size_t v = 0; v < n; ++v) {
        if (offsets[v] > offsets[v + 1]) throw common::FormatError("bad edge offsets", at);
        builder.beginEdges(NodeId(static_cast<std::uint32_t>(v)));
        for (std::uint32_t e = offsets[v]; e < offsets[v + 1]; ++e) builder.addEdge(NodeId(targets[e]));
    }
    for (const Root& root : roots) builder.addRoot(root);
    try {
        return builder.finish();
    } catch (const common::Error& error) {
        throw common::FormatError(error.what(), at);
    }
}

void checkReferences(const SnapshotData& data, Reader& r) {
    std::uint32_t n = data.graph.nodeCount();
    for (std::uint32_t t : data.graph.typeColumn()) {
        if (t >= data.typeNames.size()) r.fail("type without a name");
    }
    for (const Root& root : data.graph.roots()) {
        if (root.label >= data.rootLabels.size()) r.fail("root without a label");
    }
    for (const PathLabel& l : data.pathLabels) {
        if (l.label >= data.strings.size() || l.owner >= data.strings.size())
            r.fail("path label without text");
    }
    bool sized = (data.sequences.empty() || data.sequences.size() == n) &&
                 (data.stacks.empty() || data.stacks.size() == n) &&
                 (data.pathLabels.empty() || data.pathLabels.size() == n);
    if (!sized) r.fail("per-object columns disagree with the object count");
}

}  // namespace

void saveSnapshot(const std::string& path, const SnapshotData& data) {
    Writer w;
    const ObjectGraph& g = data.graph;
    w.raw(kMagic, sizeof kMagic);
    w.fixed<std::uint32_t>(kSnapshotVersion);
    w.column(g.offsets());
    w.column(g.targets());
    w.column(sizesOf(g));
    w.column(g.typeColumn());
    w.column(g.addressColumn());
    writeRoots(w, g.roots());
    w.column(data.sequences);
    w.column(data.stacks);
    writePathLabels(w, data.pathLabels);
    w.strings(data.typeNames);
    w.strings(data.rootLabels);
    w.strings(data.strings);
    w.fixed<std::uint32_t>(common::checksum32(w.bytes().data(), w.bytes().size()));
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(w.bytes().data(), static_cast<std::streamsize>(w.bytes().size()));
    out.close();
    if (!out) throw common::Error("cannot write snapshot file '" + path + "'");
}

SnapshotData loadSnapshot(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw common::FormatError("cannot open snapshot file '" + path + "'", 0);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < sizeof kMagic + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
        throw common::FormatError("not a memhound snapshot (bad magic)", 0);
    }
    std::uint32_t stored = 0;
    std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
    std::string_view body(bytes.data(), bytes.size() - 4);
    Reader r(body);
    r.bytes(sizeof kMagic);
    auto version = r.fixed<std::uint32_t>();
    if (version != kSnapshotVersion) r.fail("unsupported snapshot version " + std::to_string(version));
    if (common::checksum32(body.data(), body.size()) != stored) {
        throw common::FormatError("snapshot checksum mismatch (corrupt file)", body.size());
    }
    SnapshotData data;
    data.graph = graphFromColumns(r, r.offset());
    data.sequences = r.column<std::uint64_t>("sequences");
    data.stacks = r.column<std::uint32_t>("stacks");
    data.pathLabels = readPathLabels(r);
    data.typeNames = r.strings("type names");
    data.rootLabels = r.strings("root labels");
    data.strings = r.strings("strings");
    if (r.offset() != body.size()) r.fail("trailing bytes after the snapshot");
    checkReferences(data, r);
    return data;
}

}  // namespace memhound::graph
