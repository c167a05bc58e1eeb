namespace SessionRouter.Core.Storage;

/// <summary>
/// The stored state of one session, as read from a store.
/// </summary>
/// <param name="Data">The opaque state blob; empty for an uninitialized item.</param>
/// <param name="Version">Rises on every write of the item; 0 is never a stored version.</param>
/// <param name="Timeout">The sliding expiry of the item.</param>
/// <param name="IsUninitialized">
/// True when the item was made by create-uninitialized and not yet written (MS-ASP's ActionFlags 1).
/// A store reports it exactly once: the read that reports it clears the flag.
/// </param>
public sealed record SessionItem(ReadOnlyMemory<byte> Data, long Version, TimeSpan Timeout, bool IsUninitialized);
