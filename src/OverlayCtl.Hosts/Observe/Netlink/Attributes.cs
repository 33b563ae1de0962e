using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Hosts.Observe.Netlink;

/// <summary>Attribute values as iproute2 prints them: addresses, MACs and strings.</summary>
internal static class AttributeValues
{
    public static Ipv4Address Address(ReadOnlySpan<byte> value) => new(BinaryPrimitives.ReadUInt32BigEndian(value));

    /// <summary>A link-layer address as ip prints one, when it is a MAC (6 bytes); other lengths are not.</summary>
    public static MacAddress? Mac(ReadOnlySpan<byte> value)
    {
        if (value.Length != 6) return null;
        var text = string.Create(CultureInfo.InvariantCulture, $"{value[0]:x2}:{value[1]:x2}:{value[2]:x2}:{value[3]:x2}:{value[4]:x2}:{value[5]:x2}");
        return MacAddress.Parse(text);
    }

    /// <summary>A NUL-terminated attribute string.</summary>
    public static string Text(ReadOnlySpan<byte> value)
    {
        var end = value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? value : value[..end]);
    }
}

/// <summary>
/// A message's route attributes by type, the first of each as iproute2's <c>parse_rtattr</c> keeps;
/// types above the table's size are ignored, and NLA_F_NESTED / NLA_F_NET_BYTEORDER are masked off.
/// </summary>
internal readonly ref struct Attributes
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly Span<int> _slots;

    public Attributes(ReadOnlySpan<byte> data, Span<int> slots)
    {
        _data = data;
        _slots = slots;
        slots.Fill(-1);
        var offset = 0;
        while (data.Length - offset >= 4)
        {
            var length = MemoryMarshal.Read<ushort>(data[offset..]);
            var type = MemoryMarshal.Read<ushort>(data[(offset + 2)..]) & 0x3FFF;
            if (length < 4 || length > data.Length - offset) break;
            if (2 * type + 1 < slots.Length && slots[2 * type] < 0)
            {
                slots[2 * type] = offset + 4;
                slots[(2 * type) + 1] = length - 4;
            }
            offset += (length + 3) & ~3;
        }
    }

    public bool TryGet(int type, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (2 * type + 1 >= _slots.Length || _slots[2 * type] < 0) return false;
        value = _data.Slice(_slots[2 * type], _slots[(2 * type) + 1]);
        return true;
    }
}
