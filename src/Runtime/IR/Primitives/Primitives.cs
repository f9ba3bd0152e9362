namespace Nn.Runtime.IR;

/// <summary>The registry: every primitive's one definition, indexed by <see cref="OpKind"/>. Code that must cover
/// every op asks the definition here instead of switching over the enum.</summary>
internal static class Primitives
{
    // Every concrete definition in this assembly, found by reflection: adding an op is writing its class, nothing more.
    private static readonly Primitive[] Definitions = typeof(Primitive).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(Primitive)) && !t.IsAbstract)
        .Select(t => (Primitive)Activator.CreateInstance(t, nonPublic: true)!)
        .OrderBy(p => p.Kind)
        .ToArray();

    private static readonly Primitive[] ByKind = Index();

    private static Primitive[] Index()
    {
        var byKind = new Primitive[Enum.GetValues<OpKind>().Length];
        foreach (var p in Definitions)
        {
            if (byKind[(int)p.Kind] is not null) throw Throw.Bug($"two definitions of {p.Kind}");
            byKind[(int)p.Kind] = p;
        }
        return byKind;
    }

    /// <summary>Every definition, in the order of <see cref="OpKind"/> (the built-in table's order).</summary>
    public static IReadOnlyList<Primitive> All => Definitions;

    /// <summary>The definition of <paramref name="op"/>.</summary>
    public static Primitive Of(OpKind op) =>
        ByKind[(int)op] ?? throw Throw.Bug($"{op} has no definition in Primitives");

    /// <summary>The definition of a unary elementwise op.</summary>
    public static UnaryPrimitive Unary(OpKind op) =>
        Of(op) as UnaryPrimitive ?? throw Throw.Bug($"{op} is not a unary elementwise op");

    /// <summary>The definition of a binary elementwise op.</summary>
    public static BinaryPrimitive Binary(OpKind op) =>
        Of(op) as BinaryPrimitive ?? throw Throw.Bug($"{op} is not a binary elementwise op");

    /// <summary>The unary elementwise ops, in registry order.</summary>
    public static IEnumerable<UnaryPrimitive> Unaries => Definitions.OfType<UnaryPrimitive>();
}
