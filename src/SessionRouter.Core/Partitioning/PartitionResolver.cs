using System.Buffers;
using System.Collections.Frozen;
using SessionRouter.Core.Health;

namespace SessionRouter.Core.Partitioning;

/// <summary>
/// The consistent-hash partition map: a balanced rendezvous slot table (docs/partitioning.md).
/// A session id hashes (fixed-seed XxHash3) to one of <see cref="SlotCount"/> equal slots; each slot holds
/// the head of its preference list, so a lookup is one hash and one table read. Built only from the
/// members (id, weight), sorted by id: every process builds the same table whatever order the nodes are
/// listed in. Immutable and safe to share between threads.
/// </summary>
public sealed class PartitionResolver : IPartitionResolver
{
    /// <summary>2^18 slots: exact balance to 1/262144 of the hash space, 2 MiB per map.</summary>
    public const int DefaultSlotBits = 18;

    /// <summary>The largest map the 16-bit table entries can address.</summary>
    public const int MaxNodes = ushort.MaxValue;

    private readonly NodeSet _set;
    private readonly SlotTable _table;
    private readonly string[] _ids;
    private readonly FrozenDictionary<string, int> _indexById;
    private readonly int _shift;

    private PartitionResolver(NodeSet set, SlotTable table)
    {
        _set = set;
        _table = table;
        _ids = set.Nodes.Select(n => n.Id).ToArray();
        _indexById = _ids.Select((id, index) => KeyValuePair.Create(id, index)).ToFrozenDictionary(StringComparer.Ordinal);
        _shift = 64 - table.SlotBits;
    }

    /// <summary>The members sorted by id (ordinal); preference lists hold indices into this list.</summary>
    public IReadOnlyList<PartitionNode> Nodes => _set.Nodes;

    /// <summary>How many equal slots the hash space is cut into.</summary>
    public int SlotCount => _table.SlotCount;

    /// <summary>log2 of <see cref="SlotCount"/>.</summary>
    public int SlotBits => _table.SlotBits;

    /// <summary>
    /// Builds the map of <paramref name="nodes"/>. Throws <see cref="ArgumentException"/> naming the
    /// problem when the list is empty, an id is empty or repeated, a weight is negative or not finite, or
    /// no node has a weight above zero.
    /// </summary>
    public static PartitionResolver Create(IEnumerable<PartitionNode> nodes) => Create(nodes, DefaultSlotBits);

    /// <summary>
    /// Builds a map with <c>2^slotBits</c> slots (4..24). Maps are only comparable, and gateways only
    /// agree, when they use the same value; the product always uses <see cref="DefaultSlotBits"/>. Smaller
    /// tables serve tests, larger ones simulations.
    /// </summary>
    public static PartitionResolver Create(IEnumerable<PartitionNode> nodes, int slotBits)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotBits, 4);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slotBits, 24);

        var list = nodes.ToArray();
        Validate(list);
        var canonical = list.OrderBy(n => n.Id, StringComparer.Ordinal).ToArray();
        var set = new NodeSet(canonical);
        return new PartitionResolver(set, SlotTableBuilder.Build(set, slotBits));
    }

    /// <summary>The index of a member in <see cref="Nodes"/>, or -1.</summary>
    public int IndexOf(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        return _indexById.TryGetValue(nodeId, out var index) ? index : -1;
    }

    /// <summary>The share of the hash space whose primary is the node at <paramref name="nodeIndex"/> (exact).</summary>
    public double GetShare(int nodeIndex) => (double)_table.PrimaryCounts[nodeIndex] / _table.SlotCount;

    /// <summary>The slot a session id hashes to.</summary>
    public int GetSlot(ReadOnlySpan<char> sessionId) => (int)(PartitionHashing.HashKey(sessionId) >> _shift);

    /// <inheritdoc />
    public int GetPreferenceList(ReadOnlySpan<char> sessionId, Span<int> destination)
    {
        var wanted = Math.Min(destination.Length, _ids.Length);
        return WriteList(GetSlot(sessionId), destination[..wanted], health: null);
    }

    /// <summary>
    /// Writes the healthy nodes of the session's preference list, in list order, into
    /// <paramref name="destination"/> and returns how many were written. Unhealthy nodes are skipped, so a
    /// session of a healthy primary never moves and a session of a down primary goes to the next healthy
    /// node of its own list. Returns 0 when no node is healthy (or <paramref name="destination"/> is
    /// empty): the caller must answer "no healthy node", never pick one. Allocation-free; the usual
    /// case reads one table row.
    /// </summary>
    public int ResolveHealthy(ReadOnlySpan<char> sessionId, INodeHealthView health, Span<int> destination)
    {
        ArgumentNullException.ThrowIfNull(health);
        return WriteList(GetSlot(sessionId), destination, health);
    }

    /// <summary>The preference list of one slot, like <see cref="GetPreferenceList"/> (tools and simulations walk every slot).</summary>
    public int GetSlotPreferenceList(int slot, Span<int> destination)
        => WriteList(slot, destination[..Math.Min(destination.Length, _ids.Length)], health: null);

    /// <summary>The primary node index of one slot.</summary>
    public int GetSlotPrimary(int slot) => _table.Entries[slot * _table.Columns];

    private int WriteList(int slot, Span<int> destination, INodeHealthView? health)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        var columns = _table.Columns;
        var row = _table.Entries.AsSpan(slot * columns, columns);
        var written = 0;
        foreach (var node in row)
        {
            if (health is null || health.IsHealthy(_ids[node]))
            {
                destination[written++] = node;
                if (written == destination.Length)
                {
                    return written;
                }
            }
        }

        return columns == _ids.Length ? written : AppendRanked(slot, row, destination, written, health);
    }

    /// <summary>The rare path past the stored columns: ranks the other nodes of the slot on demand.</summary>
    private int AppendRanked(int slot, ReadOnlySpan<ushort> row, Span<int> destination, int written, INodeHealthView? health)
    {
        var salt = PartitionHashing.SlotSalt(slot);
        var keys = ArrayPool<double>.Shared.Rent(_ids.Length);
        var indices = ArrayPool<int>.Shared.Rent(_ids.Length);
        try
        {
            // Nodes with weight first, then zero-weight nodes (fallback only), each in rendezvous order.
            for (var pass = 0; pass < 2 && written < destination.Length; pass++)
            {
                var length = 0;
                for (var node = 0; node < _ids.Length; node++)
                {
                    if ((_set.Weights[node] > 0) == (pass == 0) && !row.Contains((ushort)node))
                    {
                        keys[length] = SlotTableBuilder.OrderKey(_set, salt, node);
                        indices[length] = node;
                        length++;
                    }
                }

                Array.Sort(keys, indices, 0, length);
                for (var i = 0; i < length && written < destination.Length; i++)
                {
                    if (health is null || health.IsHealthy(_ids[indices[i]]))
                    {
                        destination[written++] = indices[i];
                    }
                }
            }

            return written;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(keys);
            ArrayPool<int>.Shared.Return(indices);
        }
    }

    private static void Validate(PartitionNode[] nodes)
    {
        if (nodes.Length == 0)
        {
            throw new ArgumentException("A partition map needs at least one node.", nameof(nodes));
        }

        if (nodes.Length > MaxNodes)
        {
            throw new ArgumentException($"A partition map holds at most {MaxNodes} nodes (got {nodes.Length}).", nameof(nodes));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var anyWeight = false;
        for (var i = 0; i < nodes.Length; i++)
        {
            var node = nodes[i] ?? throw new ArgumentException($"Node {i} is null.", nameof(nodes));
            if (string.IsNullOrWhiteSpace(node.Id))
            {
                throw new ArgumentException($"Node {i} has an empty id.", nameof(nodes));
            }

            if (!seen.Add(node.Id))
            {
                throw new ArgumentException($"Node id '{node.Id}' is listed twice.", nameof(nodes));
            }

            if (!double.IsFinite(node.Weight) || node.Weight < 0)
            {
                throw new ArgumentException($"Node '{node.Id}' has weight {node.Weight}; a weight must be a finite number >= 0.", nameof(nodes));
            }

            anyWeight |= node.Weight > 0;
        }

        if (!anyWeight)
        {
            throw new ArgumentException("At least one node needs a weight above 0.", nameof(nodes));
        }
    }
}
