using System.Text;

namespace SessionRouter.Testing.Fuzzing;

/// <summary>Small random edits of text and bytes: what a tampering client, a broken proxy or a bad disk does to a value.</summary>
public static class Mutations
{
    // Characters that matter to the parsers under test: separators, quotes, padding, escapes, controls, non-ASCII.
    private const string Interesting = ";,= \t\"'%+/-_.:{}[]\\\0\u007f\u00e9\u2713\ud83d\ude00AZaz09";

    /// <summary>One to three edits of <paramref name="value"/>: replace, insert, delete, truncate, duplicate or swap characters.</summary>
    public static string Mutate(Random random, string value)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(value);
        var text = new StringBuilder(value);
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits; e++)
        {
            var at = text.Length == 0 ? 0 : random.Next(text.Length);
            switch (random.Next(7))
            {
                case 0 when text.Length > 0:
                    text[at] = RandomChar(random);
                    break;
                case 1:
                    text.Insert(at, RandomChar(random));
                    break;
                case 2 when text.Length > 0:
                    text.Remove(at, Math.Min(text.Length - at, random.Next(1, 4)));
                    break;
                case 3:
                    text.Length = at;
                    break;
                case 4 when text.Length > 0:
                    var length = Math.Min(text.Length - at, random.Next(1, 16));
                    text.Insert(at, text.ToString(at, length));
                    break;
                case 5 when text.Length > 1:
                    var other = random.Next(text.Length);
                    (text[at], text[other]) = (text[other], text[at]);
                    break;
                default:
                    text.Append(RandomChar(random));
                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>One to three edits of <paramref name="value"/>: flip bits, change, insert, delete bytes or cut it short.</summary>
    public static byte[] Mutate(Random random, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(value);
        var bytes = new List<byte>(value);
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits; e++)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 5)));
                    break;
                case 4:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default:
                    // A length field's worst cases: all ones, all zeros.
                    bytes.Insert(at, random.Next(2) == 0 ? (byte)0xFF : (byte)0x00);
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>A random string of up to <paramref name="maxLength"/> characters, mostly from the interesting set.</summary>
    public static string RandomText(Random random, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(random);
        var length = random.Next(maxLength + 1);
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(RandomChar(random));
        }

        return text.ToString();
    }

    private static char RandomChar(Random random) => random.Next(3) switch
    {
        0 => Interesting[random.Next(Interesting.Length)],
        1 => (char)random.Next(0x20, 0x7F),
        _ => (char)random.Next(0, 0x3000),
    };
}
