using System.Reflection;

namespace Wendelin.TestSupport;

/// <summary>Checks the layering rule: references point down only (Tools → Arrays → Storage).</summary>
public static class Layering
{
    /// <summary>The Wendelin.* assemblies that the product assembly <paramref name="name"/> references.</summary>
    public static string[] WendelinReferencesOf(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, name + ".dll");
        Assembly assembly = Assembly.LoadFrom(path);
        return assembly.GetReferencedAssemblies()
            .Select(a => a.Name!)
            .Where(n => n.StartsWith("Wendelin", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }
}
