using System.Reflection;

namespace Wendelin.Benchmarks;

/// <summary>
/// Marks a benchmark entry: a <c>public static int Run(BenchArgs args)</c> method. Each benchmark lives in its
/// own file and is discovered by reflection, so adding one touches no shared file.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class BenchmarkAttribute(string name, string description) : Attribute
{
    public string Name { get; } = name;

    public string Description { get; } = description;
}

internal static class Registry
{
    public static void RegisterAll()
    {
        foreach (Type type in typeof(Registry).Assembly.GetTypes())
        {
            foreach (MethodInfo method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            {
                if (method.GetCustomAttribute<BenchmarkAttribute>() is { } attribute)
                {
                    var run = method.CreateDelegate<Func<BenchArgs, int>>();
                    Program.All[attribute.Name] = (attribute.Description, run);
                }
            }
        }
    }
}
