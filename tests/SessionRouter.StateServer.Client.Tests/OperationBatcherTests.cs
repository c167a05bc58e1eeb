using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Client.Tests;

/// <summary>The in-flight bound and the batch queue on their own, with a recording sender in place of the network.</summary>
public sealed class OperationBatcherTests
{
    private readonly List<List<PendingOperation>> _sent = [];

    [Fact]
    public void SlotsAreTakenUpToTheBound_AndGivenBack()
    {
        var batcher = NewBatcher(2);

        Assert.True(batcher.TryEnter());
        Assert.True(batcher.TryEnter());
        Assert.False(batcher.TryEnter());
        batcher.Exit();
        Assert.Equal(1, batcher.InFlight);
        Assert.True(batcher.TryEnter());
        Assert.Empty(_sent);
    }

    [Fact]
    public void WhatQueuesWhileTheSlotsAreTaken_LeavesAsOneBatch_InOrder_WhenASlotFrees()
    {
        var batcher = NewBatcher(1);
        Assert.True(batcher.TryEnter());
        var queued = Enumerable.Range(0, 5).Select(i => Operation($"s{i}")).ToArray();
        foreach (var operation in queued)
        {
            batcher.Enqueue(operation);
        }

        Assert.Empty(_sent);
        Assert.False(batcher.TryEnter());

        batcher.Exit();

        var batch = Assert.Single(_sent);
        Assert.Equal(queued, batch.Cast<PendingOperation<SessionWriteResult, WriteConversion>>());
        Assert.Equal(1, batcher.InFlight);
        Assert.Equal((1L, 5L, 1L), batcher.Counts);
    }

    [Fact]
    public void AnOperationQueuedWhileASlotIsFree_LeavesAtOnce()
    {
        var batcher = NewBatcher(1);
        var operation = Operation("s");

        batcher.Enqueue(operation);

        Assert.Same(operation, Assert.Single(Assert.Single(_sent)));
        Assert.Equal(1, batcher.InFlight);
    }

    [Fact]
    public async Task AnOperationCancelledWhileQueued_IsCancelled_AndNeverSent()
    {
        var batcher = NewBatcher(1);
        Assert.True(batcher.TryEnter());
        using var cancellation = new CancellationTokenSource();
        var cancelled = Operation("cancelled");
        cancelled.CancelWith(cancellation.Token);
        var kept = Operation("kept");
        batcher.Enqueue(cancelled);
        batcher.Enqueue(kept);

        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Result.AsTask());
        batcher.Exit();

        Assert.Same(kept, Assert.Single(Assert.Single(_sent)));
    }

    [Fact]
    public async Task AnOperationTakenIntoABatch_IgnoresItsCallersCancellation_AndCompletesWithTheAnswer()
    {
        var batcher = NewBatcher(1);
        using var cancellation = new CancellationTokenSource();
        var operation = Operation("taken");
        operation.CancelWith(cancellation.Token);
        batcher.Enqueue(operation);
        Assert.Single(_sent);

        await cancellation.CancelAsync();
        var result = operation.Result;
        Assert.False(result.IsCompleted);
        operation.Complete(new BatchAnswer(StoreStatus.Ok, null, default, false, 3));

        Assert.Equal(3, (await result).Version);
    }

    [Fact]
    public void ABatchStopsAtItsByteBound_AndTheRestLeavesWithTheNextFreeSlot()
    {
        var batcher = NewBatcher(1);
        Assert.True(batcher.TryEnter());
        var data = new byte[OperationBatcher.MaxBatchedItemBytes];
        var queued = Enumerable.Range(0, 20).Select(i => Operation($"s{i}", data)).ToArray();
        foreach (var operation in queued)
        {
            batcher.Enqueue(operation);
        }

        batcher.Exit();
        batcher.Exit();

        Assert.Equal(2, _sent.Count);
        Assert.True(_sent[0].Sum(o => o.EncodedSize) + BatchCodec.PreambleBytes <= OperationBatcher.MaxBatchBytes);
        Assert.Equal(queued, _sent[0].Concat(_sent[1]).Cast<PendingOperation<SessionWriteResult, WriteConversion>>());
    }

    [Fact]
    public async Task Closing_FailsWhatIsQueued_AndEverythingLater()
    {
        var batcher = NewBatcher(1);
        Assert.True(batcher.TryEnter());
        var queued = Operation("queued");
        batcher.Enqueue(queued);

        batcher.Close();
        var later = Operation("later");
        batcher.Enqueue(later);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => queued.Result.AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => later.Result.AsTask());
        Assert.False(batcher.TryEnter());
        Assert.Empty(_sent);
    }

    private OperationBatcher NewBatcher(int maxInFlight) => new(maxInFlight, batch =>
    {
        _sent.Add(batch);
        return Task.CompletedTask;
    });

    private static PendingOperation<SessionWriteResult, WriteConversion> Operation(string id, byte[]? data = null) =>
        new(data is null ? BatchOperation.Touch : BatchOperation.Set, new SessionKey("app", id), 3, id.Length) { Data = data ?? ReadOnlyMemory<byte>.Empty };
}
