using Microsoft.AspNetCore.Http;
using SessionRouter.Core.HeaderContract;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>Removes the header contract's headers from what a client sent.</summary>
internal static class ContractHeaders
{
    /// <summary>Removes every <c>SessionRouter-*</c> header; returns true when there was one.</summary>
    public static bool StripFromRequest(IHeaderDictionary headers)
    {
        List<string>? found = null;
        foreach (var header in headers)
        {
            if (SessionHeaders.IsContractHeader(header.Key))
            {
                (found ??= []).Add(header.Key);
            }
        }

        if (found is null)
        {
            return false;
        }

        foreach (var name in found)
        {
            headers.Remove(name);
        }

        return true;
    }
}
