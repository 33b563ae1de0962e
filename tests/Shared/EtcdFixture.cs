namespace OverlayCtl.Testing;

/// <summary>One real single-member etcd shared by a test collection; tests isolate themselves by key prefix.</summary>
public sealed class EtcdFixture : IAsyncLifetime
{
    public EtcdCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await EtcdCluster.StartAsync();

    public Task DisposeAsync()
    {
        Cluster.Dispose();
        return Task.CompletedTask;
    }

    public static string UniquePrefix() => "/test/" + Guid.NewGuid().ToString("N")[..12] + "/network";
}

[CollectionDefinition(Name)]
public sealed class EtcdCollection : ICollectionFixture<EtcdFixture>
{
    public const string Name = "etcd";
}
