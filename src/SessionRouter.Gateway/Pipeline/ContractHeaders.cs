using System.Buffers;
using Microsoft.AspNetCore.Http;
using SessionRouter.Core.HeaderContract;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>Removes the header contract's headers: from what a client sent, and from what a client is sent.</summary>
internal static class ContractHeaders
{
    /// <summary>Removes every <c>SessionRouter-*</c> header; returns true when there was one.</summary>
    public static bool Strip(IHeaderDictionary headers)
    {
        var count = 0;
        foreach (var header in headers)
        {
            if (SessionHeaders.IsContractHeader(header.Key))
            {
                count++;
            }
        }

        if (count == 0)
        {
            return false;
        }

        // A dictionary cannot be changed while it is enumerated: collect the names first.
        var found = ArrayPool<string>.Shared.Rent(count);
        try
        {
            var written = 0;
            foreach (var header in headers)
            {
                if (written < count && SessionHeaders.IsContractHeader(header.Key))
                {
                    found[written++] = header.Key;
                }
            }

            for (var i = 0; i < written; i++)
            {
                headers.Remove(found[i]);
            }
        }
        finally
        {
            ArrayPool<string>.Shared.Return(found, clearArray: true);
        }

        return true;
    }
}
