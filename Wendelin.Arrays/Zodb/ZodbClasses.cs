using System.Runtime.CompilerServices;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// Registers wendelin.core's persistent classes under their Python names (spec/zbigfile.md ZB-1):
/// <c>wendelin.bigfile.file_zodb.{ZBigFile, ZBlk0, ZBlk1, ZData}</c>, the legacy <c>ZBlk</c> (read as ZBlk0) and
/// <c>wendelin.bigarray.array_zodb.ZBigArray</c>. <see cref="TypeRegistry.Default"/> gets them when this assembly
/// loads; call <see cref="Register"/> for a registry of your own.
/// </summary>
public static class ZodbClasses
{
    internal const string FileModule = "wendelin.bigfile.file_zodb";
    internal const string ArrayModule = "wendelin.bigarray.array_zodb";

    /// <summary>Registers the classes in <paramref name="registry"/> (idempotent).</summary>
    public static void Register(TypeRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.Register(typeof(ZBigFile), FileModule, "ZBigFile", static () => new ZBigFile());
        registry.Register<ZBlk0>(FileModule, "ZBlk0");
        registry.RegisterAlias<ZBlk0>(FileModule, "ZBlk");
        registry.Register<ZBlk1>(FileModule, "ZBlk1");
        registry.Register<ZData>(FileModule, "ZData");
        registry.Register(typeof(ZBigArray), ArrayModule, "ZBigArray", static () => new ZBigArray());
    }

#pragma warning disable CA2255 // a database must load these classes as soon as this assembly is in use, before any record is read
    [ModuleInitializer]
    internal static void RegisterDefault() => Register(TypeRegistry.Default);
#pragma warning restore CA2255
}
