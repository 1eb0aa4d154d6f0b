using System.Formats.Cbor;

namespace KmPs.Core.Wire;

/// <summary>
/// Reads and writes oasis-core CBOR with System.Formats.Cbor. Decoding follows the node's RPC
/// options (go/common/cbor): indefinite lengths, tags and duplicate map keys are refused. Encoding
/// is canonical (RFC 7049 length-first key order), as fxamacker's SortCanonical produces.
/// </summary>
public static class CborCodec
{
    private const int MaxDepth = 128;

    /// <summary>
    /// Decodes one item. An empty payload decodes to null, as oasis-core's UnmarshalRPC does for
    /// zero-length gRPC messages.
    /// </summary>
    public static CborNode Decode(ReadOnlyMemory<byte> data)
    {
        if (data.Length == 0) return CborNode.Null;
        var reader = new CborReader(data, CborConformanceMode.Lax, allowMultipleRootLevelValues: false);
        try
        {
            var node = Read(reader, 0);
            if (reader.BytesRemaining != 0)
                throw new CborDecodeException($"{reader.BytesRemaining} trailing bytes after the CBOR item");
            return node;
        }
        catch (CborContentException e)
        {
            throw new CborDecodeException($"malformed CBOR at byte {data.Length - reader.BytesRemaining}: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new CborDecodeException($"malformed CBOR at byte {data.Length - reader.BytesRemaining}: {e.Message}", e);
        }
    }

    private static CborNode Read(CborReader r, int depth)
    {
        if (depth > MaxDepth) throw new CborDecodeException($"CBOR nested deeper than {MaxDepth} levels");
        var state = r.PeekState();
        switch (state)
        {
            case CborReaderState.UnsignedInteger:
                return new CborInteger(false, r.ReadUInt64());
            case CborReaderState.NegativeInteger:
                return new CborInteger(true, r.ReadCborNegativeIntegerRepresentation());
            case CborReaderState.ByteString:
                return new CborBytes(r.ReadByteString());
            case CborReaderState.TextString:
                return new CborText(r.ReadTextString());
            case CborReaderState.StartIndefiniteLengthByteString:
            case CborReaderState.StartIndefiniteLengthTextString:
                throw new CborDecodeException("indefinite-length strings are not allowed (oasis-core forbids them)");
            case CborReaderState.StartArray:
            {
                var len = r.ReadStartArray();
                if (len is null) throw new CborDecodeException("indefinite-length arrays are not allowed (oasis-core forbids them)");
                var items = new CborNode[len.Value];
                for (var i = 0; i < items.Length; i++) items[i] = Read(r, depth + 1);
                r.ReadEndArray();
                return new CborArray(items);
            }
            case CborReaderState.StartMap:
            {
                var len = r.ReadStartMap();
                if (len is null) throw new CborDecodeException("indefinite-length maps are not allowed (oasis-core forbids them)");
                var entries = new KeyValuePair<CborNode, CborNode>[len.Value];
                var seen = new HashSet<CborNode>();
                for (var i = 0; i < entries.Length; i++)
                {
                    var key = Read(r, depth + 1);
                    if (!seen.Add(key)) throw new CborDecodeException($"duplicate map key {Describe(key)}");
                    entries[i] = new(key, Read(r, depth + 1));
                }
                r.ReadEndMap();
                return new CborMap(entries);
            }
            case CborReaderState.Tag:
                throw new CborDecodeException($"CBOR tag {(ulong)r.PeekTag()} is not allowed (oasis-core forbids tags)");
            case CborReaderState.Null:
                r.ReadNull();
                return CborNode.Null;
            case CborReaderState.Undefined:
                r.ReadSimpleValue();
                return new CborUndefined();
            case CborReaderState.Boolean:
                return CborNode.Bool(r.ReadBoolean());
            case CborReaderState.HalfPrecisionFloat:
            case CborReaderState.SinglePrecisionFloat:
            case CborReaderState.DoublePrecisionFloat:
                return new CborFloat(r.ReadDouble());
            case CborReaderState.SimpleValue:
                throw new CborDecodeException($"unsupported CBOR simple value {(int)r.ReadSimpleValue()}");
            default:
                throw new CborDecodeException($"unexpected CBOR state {state}");
        }
    }

    /// <summary>Encodes canonically: shortest integer forms, definite lengths, sorted map keys.</summary>
    public static byte[] Encode(CborNode node)
    {
        var writer = new CborWriter(CborConformanceMode.Canonical, convertIndefiniteLengthEncodings: false);
        Write(writer, node);
        return writer.Encode();
    }

    private static void Write(CborWriter w, CborNode node)
    {
        switch (node)
        {
            case CborNull: w.WriteNull(); break;
            case CborUndefined: w.WriteSimpleValue(CborSimpleValue.Undefined); break;
            case CborBool b: w.WriteBoolean(b.Value); break;
            case CborInteger i when !i.IsNegative: w.WriteUInt64(i.Magnitude); break;
            case CborInteger i: w.WriteCborNegativeIntegerRepresentation(i.Magnitude); break;
            case CborFloat f: w.WriteDouble(f.Value); break;
            case CborText t: w.WriteTextString(t.Value); break;
            case CborBytes b: w.WriteByteString(b.Value); break;
            case CborArray a:
                w.WriteStartArray(a.Items.Count);
                foreach (var item in a.Items) Write(w, item);
                w.WriteEndArray();
                break;
            case CborMap m:
                // The canonical writer sorts the keys itself when the map ends.
                w.WriteStartMap(m.Entries.Count);
                foreach (var e in m.Entries) { Write(w, e.Key); Write(w, e.Value); }
                w.WriteEndMap();
                break;
            default: throw new ArgumentException($"cannot encode {node.GetType().Name}");
        }
    }

    internal static string Describe(CborNode key) => key switch
    {
        CborText t => $"\"{t.Value}\"",
        CborBytes b => $"h'{Convert.ToHexString(b.Value).ToLowerInvariant()}'",
        CborInteger i => i.ToString(),
        _ => key.Kind,
    };
}
