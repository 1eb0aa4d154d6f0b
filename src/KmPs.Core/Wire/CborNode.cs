using System.Text;

namespace KmPs.Core.Wire;

/// <summary>
/// A decoded CBOR data item. oasis-core messages are decoded into this tree first and the typed
/// models read from it, so unknown fields are ignored naturally and the -Raw view can render
/// every field, known or not.
/// </summary>
public abstract record CborNode
{
    public static readonly CborNull Null = new();
    public static readonly CborBool True = new(true);
    public static readonly CborBool False = new(false);

    public static CborText Text(string value) => new(value);
    public static CborBytes Bytes(byte[] value) => new(value);
    public static CborInteger UInt(ulong value) => new(false, value);
    public static CborInteger Int(long value) =>
        value >= 0 ? new(false, (ulong)value) : new(true, (ulong)(-1 - value));
    public static CborBool Bool(bool value) => value ? True : False;

    public bool IsNull => this is CborNull or CborUndefined;

    /// <summary>Short description of the item's kind for error messages.</summary>
    public abstract string Kind { get; }
}

public sealed record CborNull : CborNode { public override string Kind => "null"; }
public sealed record CborUndefined : CborNode { public override string Kind => "undefined"; }
public sealed record CborBool(bool Value) : CborNode { public override string Kind => "bool"; }
public sealed record CborFloat(double Value) : CborNode { public override string Kind => "float"; }

public sealed record CborText(string Value) : CborNode
{
    public override string Kind => "text";
}

/// <summary>A CBOR integer, major type 0 (unsigned) or 1 (negative: value = -1 - Magnitude).</summary>
public sealed record CborInteger(bool IsNegative, ulong Magnitude) : CborNode
{
    public override string Kind => "integer";

    public long ToInt64()
    {
        if (!IsNegative)
        {
            if (Magnitude > long.MaxValue) throw new CborDecodeException($"integer {Magnitude} does not fit in int64");
            return (long)Magnitude;
        }
        if (Magnitude > long.MaxValue) throw new CborDecodeException("negative integer does not fit in int64");
        return -1 - (long)Magnitude;
    }

    public ulong ToUInt64()
    {
        if (IsNegative) throw new CborDecodeException("expected an unsigned integer, found a negative one");
        return Magnitude;
    }

    public override string ToString() => IsNegative ? $"-{(System.Numerics.BigInteger)Magnitude + 1}" : Magnitude.ToString();
}

public sealed record CborBytes(byte[] Value) : CborNode
{
    public override string Kind => "bytes";
    public bool Equals(CborBytes? other) => other is not null && Value.AsSpan().SequenceEqual(other.Value);
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.AddBytes(Value);
        return h.ToHashCode();
    }
}

public sealed record CborArray(IReadOnlyList<CborNode> Items) : CborNode
{
    public override string Kind => "array";
    public bool Equals(CborArray? other) => other is not null && Items.SequenceEqual(other.Items);
    public override int GetHashCode() => Items.Count;
}

/// <summary>
/// A CBOR map in wire order. Keys may be any item (oasis uses text, byte-string, integer and even
/// map keys), so entries are kept as pairs rather than a dictionary.
/// </summary>
public sealed record CborMap(IReadOnlyList<KeyValuePair<CborNode, CborNode>> Entries) : CborNode
{
    public override string Kind => "map";

    public bool Equals(CborMap? other) =>
        other is not null && Entries.Count == other.Entries.Count &&
        Entries.Zip(other.Entries).All(p => p.First.Key.Equals(p.Second.Key) && p.First.Value.Equals(p.Second.Value));
    public override int GetHashCode() => Entries.Count;

    /// <summary>The value under a text key, or null when the key is absent.</summary>
    public CborNode? this[string key]
    {
        get
        {
            foreach (var e in Entries)
                if (e.Key is CborText t && t.Value == key) return e.Value;
            return null;
        }
    }

    public bool ContainsKey(string key) => this[key] is not null;
}

/// <summary>Builds maps for requests and for the simulator's responses.</summary>
public sealed class CborMapBuilder
{
    private readonly List<KeyValuePair<CborNode, CborNode>> _entries = new();

    public CborMapBuilder Add(string key, CborNode value)
    {
        _entries.Add(new(CborNode.Text(key), value));
        return this;
    }

    public CborMapBuilder Add(CborNode key, CborNode value)
    {
        _entries.Add(new(key, value));
        return this;
    }

    /// <summary>Adds the entry only when the value is not null (Go's omitempty for pointers).</summary>
    public CborMapBuilder AddIfNotNull(string key, CborNode? value)
    {
        if (value is not null && !value.IsNull) Add(key, value);
        return this;
    }

    public CborMap Build() => new(_entries.ToArray());
}
