using Google.Protobuf;

namespace Nn.Runtime.Export;

/// <summary>
/// The few ONNX protobuf messages the exporter writes, by hand with Google.Protobuf's <see cref="CodedOutputStream"/>.
/// Field numbers are those of onnx/onnx.proto (github.com/onnx/onnx, onnx/onnx.proto: ModelProto, GraphProto,
/// NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto); no
/// package ships maintained generated types (OnnxSharp's last release is 0.3.2).
/// </summary>
internal sealed class ProtoMessage
{
    private readonly MemoryStream _bytes = new();
    private readonly CodedOutputStream _out;

    public ProtoMessage() { _out = new CodedOutputStream(_bytes, leaveOpen: true); }

    public ProtoMessage Int(int field, long value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint);
        _out.WriteInt64(value);
        return this;
    }

    public ProtoMessage Float(int field, float value)
    {
        _out.WriteTag(field, WireFormat.WireType.Fixed32);
        _out.WriteFloat(value);
        return this;
    }

    public ProtoMessage String(int field, string value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _out.WriteString(value);
        return this;
    }

    public ProtoMessage Bytes(int field, ReadOnlySpan<byte> value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _out.WriteBytes(ByteString.CopyFrom(value));
        return this;
    }

    public ProtoMessage Message(int field, ProtoMessage value) => Bytes(field, value.ToArray());

    public byte[] ToArray()
    {
        _out.Flush();
        return _bytes.ToArray();
    }
}

/// <summary>Builders of the ONNX messages, named and numbered as in onnx.proto.</summary>
internal static class Onnx
{
    /// <summary>TensorProto.DataType values.</summary>
    public const int Float = 1, Int64 = 7, Bool = 9;

    /// <summary>OperatorSetIdProto { domain = 1; version = 2 } for the default domain.</summary>
    public static ProtoMessage OpsetId(int version) => new ProtoMessage().Int(2, version);

    /// <summary>TensorProto { dims = 1; data_type = 2; name = 8; raw_data = 9 (little-endian) }.</summary>
    public static ProtoMessage FloatTensor(string name, int[] dims, ReadOnlySpan<float> data)
    {
        var m = new ProtoMessage();
        foreach (var d in dims) m.Int(1, d);
        m.Int(2, Float);
        if (name.Length > 0) m.String(8, name);
        var raw = new byte[data.Length * 4];
        for (int i = 0; i < data.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), data[i]);
        return m.Bytes(9, raw);
    }

    /// <summary>An int64 TensorProto (shapes, axes, indices).</summary>
    public static ProtoMessage Int64Tensor(string name, int[] dims, long[] data)
    {
        var m = new ProtoMessage();
        foreach (var d in dims) m.Int(1, d);
        m.Int(2, Int64);
        if (name.Length > 0) m.String(8, name);
        var raw = new byte[data.Length * 8];
        for (int i = 0; i < data.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), data[i]);
        return m.Bytes(9, raw);
    }

    /// <summary>ValueInfoProto { name = 1; type = 2 } of a float tensor: TypeProto { tensor_type = 1 } holding
    /// Tensor { elem_type = 1; shape = 2 }, TensorShapeProto { dim = 1 }, Dimension { dim_value = 1;
    /// dim_param = 2 }.</summary>
    public static ProtoMessage ValueInfo(string name, IR.Shape shape)
    {
        var dims = new ProtoMessage();
        foreach (var d in shape.Dims)
            dims.Message(1, d.IsFixed ? new ProtoMessage().Int(1, d.Size) : new ProtoMessage().String(2, d.Symbol!));
        var tensor = new ProtoMessage().Int(1, Float).Message(2, dims);
        return new ProtoMessage().String(1, name).Message(2, new ProtoMessage().Message(1, tensor));
    }
}

/// <summary>AttributeProto { name = 1; f = 2; i = 3; t = 5; ints = 8; type = 20 } (AttributeType FLOAT = 1,
/// INT = 2, TENSOR = 4, INTS = 7).</summary>
internal abstract record OnnxAttr(string Name)
{
    public abstract ProtoMessage ToProto();

    public sealed record F(string N, float Value) : OnnxAttr(N)
    {
        public override ProtoMessage ToProto() => new ProtoMessage().String(1, Name).Float(2, Value).Int(20, 1);
    }

    public sealed record I(string N, long Value) : OnnxAttr(N)
    {
        public override ProtoMessage ToProto() => new ProtoMessage().String(1, Name).Int(3, Value).Int(20, 2);
    }

    public sealed record Ints(string N, long[] Values) : OnnxAttr(N)
    {
        public override ProtoMessage ToProto()
        {
            var m = new ProtoMessage().String(1, Name);
            foreach (var v in Values) m.Int(8, v);
            return m.Int(20, 7);
        }
    }

    public sealed record Tensor(string N, ProtoMessage Value) : OnnxAttr(N)
    {
        public override ProtoMessage ToProto() => new ProtoMessage().String(1, Name).Message(5, Value).Int(20, 4);
    }
}
