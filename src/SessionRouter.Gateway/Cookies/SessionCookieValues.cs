using Microsoft.Extensions.Primitives;

namespace SessionRouter.Gateway.Cookies;

/// <summary>
/// The values of the cookies named <c>name</c> in a request's Cookie header(s), in the order the client sent
/// them, read in place without parsing the other cookies or allocating.
/// </summary>
/// <remarks>
/// ASP.NET Core's <c>Request.Cookies</c> keeps the last of two cookies with one name. Browsers send the
/// cookie with the most specific path first (and, for equal paths, the older one first), so the first is
/// the one the client means; the session reader takes the first value that verifies. The number of values
/// yielded is bounded: each costs a MAC check, and a request may carry hundreds of cookies of one name.
/// </remarks>
internal ref struct SessionCookieValues
{
    /// <summary>How many cookies of the session's name are looked at; later ones are ignored.</summary>
    public const int MaxValues = 4;

    private readonly StringValues _headers;
    private readonly string _name;
    private int _header;
    private ReadOnlySpan<char> _rest;
    private int _yielded;

    public SessionCookieValues(StringValues headers, string name)
    {
        _headers = headers;
        _name = name;
        _header = -1;
        _rest = default;
        _yielded = 0;
        Current = default;
    }

    public ReadOnlySpan<char> Current { get; private set; }

    public readonly SessionCookieValues GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_yielded >= MaxValues)
        {
            return false;
        }

        while (true)
        {
            while (_rest.IsEmpty)
            {
                if (++_header >= _headers.Count)
                {
                    return false;
                }

                _rest = _headers[_header];
            }

            // cookie-string = cookie-pair *( ";" SP cookie-pair ) (RFC 6265 §4.2.1); ',' is accepted as a
            // separator too, as ASP.NET Core's parser does. Neither occurs in a session cookie's base64url value.
            var end = _rest.IndexOfAny(';', ',');
            var pair = end < 0 ? _rest : _rest[..end];
            _rest = end < 0 ? default : _rest[(end + 1)..];

            var equals = pair.IndexOf('=');
            if (equals <= 0 || !pair[..equals].Trim(" \t").SequenceEqual(_name))
            {
                continue;
            }

            var value = pair[(equals + 1)..].Trim(" \t");
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
            {
                value = value[1..^1];
            }

            _yielded++;
            Current = value;
            return true;
        }
    }
}
