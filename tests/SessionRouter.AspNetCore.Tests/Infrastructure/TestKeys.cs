using System.Security.Cryptography;

namespace SessionRouter.AspNetCore.Tests.Infrastructure;

internal static class TestKeys
{
    /// <summary>The key a test gateway and test site share.</summary>
    public static readonly string SignatureKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Another valid key: what a forger without the shared key would sign with.</summary>
    public static readonly string OtherKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
}
