// A build tool: `PrintfRoots OUT.rd.xml ASSEMBLY...`, run by src/Cli/Aot/Aot.targets before the AOT compiler; not part
// of the nn command.
//
// F#'s printf family (sprintf, printfn, failwithf, ...) builds its curried printer at run time with
// MethodInfo.MakeGenericMethod over the argument types (FSharp.Core's PrintfImpl.Specializations: CaptureFinal1<int>,
// Capture2<float, string, Tail>, ...). Native AOT compiles only the generic instantiations it can see, so the first
// `sprintf "%d"` of the native command threw "missing native code". This task reads the compiled assemblies, finds
// every printf format the F# compiler emitted (a PrintfFormat`4/`5 whose first type argument is the curried printer
// type), and writes an rd.xml (runtime directives) that asks the AOT compiler for each instantiation the format can
// need: every run of one to three consecutive arguments, value types as themselves, reference types as object (their
// code is shared). No format string has to be listed by hand, and a new sprintf is covered at the next publish.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text;

public static class Program
{
    public static int Main(string[] args)
    {
        var (xml, formats, notes) = PrintfRootsGenerator.Generate(args.Skip(1));
        foreach (var n in notes) Console.Error.WriteLine("nn AOT: " + n);
        Console.WriteLine($"nn AOT: {formats} printf formats in the assemblies, their instantiations in {args[0]}");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(args[0]))!);
        if (!File.Exists(args[0]) || File.ReadAllText(args[0]) != xml) File.WriteAllText(args[0], xml);
        return 0;
    }
}

/// <summary>A type as a signature names it: a name the rd.xml understands and whether it is a value type.</summary>
public sealed record SigType(string Name, string Assembly, bool IsValueType, IReadOnlyList<SigType> Args, bool IsOpen)
{
    static readonly HashSet<string> CoreAssemblies = new() { "System.Runtime", "netstandard", "mscorlib",
        "System.Private.CoreLib" };
    public static readonly SigType Object = new("System.Object", "System.Private.CoreLib", false, [], false);

    /// <summary>The assembly-qualified name rd.xml takes:
    /// <c>List`1[[System.Int32,System.Private.CoreLib]]</c>.</summary>
    public string Qualified()
    {
        var asm = CoreAssemblies.Contains(Assembly) ? "System.Private.CoreLib" : Assembly;
        return $"{TypeName()},{asm}";
    }

    public string TypeName() =>
        Args.Count == 0 ? Name : $"{Name}[{string.Join(",", Args.Select(a => "[" + a.Qualified() + "]"))}]";

    /// <summary>What the AOT compiler must instantiate for this argument: a value type itself, any other object
    /// (reference types share one code).</summary>
    public SigType Erased() => IsValueType && !IsOpen ? this : Object;
}

sealed class SigProvider(string self) : ISignatureTypeProvider<SigType, object?>
{
    static SigType Core(string name, bool value) => new(name, "System.Private.CoreLib", value, [], false);
    public SigType GetPrimitiveType(PrimitiveTypeCode c) => c switch
    {
        PrimitiveTypeCode.Boolean => Core("System.Boolean", true), PrimitiveTypeCode.Char => Core("System.Char", true),
        PrimitiveTypeCode.SByte => Core("System.SByte", true), PrimitiveTypeCode.Byte => Core("System.Byte", true),
        PrimitiveTypeCode.Int16 => Core("System.Int16", true), PrimitiveTypeCode.UInt16 => Core("System.UInt16", true),
        PrimitiveTypeCode.Int32 => Core("System.Int32", true), PrimitiveTypeCode.UInt32 => Core("System.UInt32", true),
        PrimitiveTypeCode.Int64 => Core("System.Int64", true), PrimitiveTypeCode.UInt64 => Core("System.UInt64", true),
        PrimitiveTypeCode.Single => Core("System.Single", true),
        PrimitiveTypeCode.Double => Core("System.Double", true),
        PrimitiveTypeCode.IntPtr => Core("System.IntPtr", true),
        PrimitiveTypeCode.UIntPtr => Core("System.UIntPtr", true),
        PrimitiveTypeCode.String => Core("System.String", false), PrimitiveTypeCode.Void => Core("System.Void", true),
        PrimitiveTypeCode.TypedReference => Core("System.TypedReference", true),
        _ => Core("System.Object", false),
    };

    public SigType GetTypeFromDefinition(MetadataReader r, TypeDefinitionHandle h, byte rawTypeKind)
    {
        var d = r.GetTypeDefinition(h);
        var name = r.GetString(d.Name);
        var outer = d.GetDeclaringType();
        var full = outer.IsNil ? Join(r.GetString(d.Namespace), name)
            : GetTypeFromDefinition(r, outer, 0).Name + "+" + name;
        return new(full, self, rawTypeKind == 0x11, [], false);
    }

    public SigType GetTypeFromReference(MetadataReader r, TypeReferenceHandle h, byte rawTypeKind)
    {
        var t = r.GetTypeReference(h);
        var name = r.GetString(t.Name);
        var scope = t.ResolutionScope;
        if (scope.Kind == HandleKind.TypeReference)
        {
            var outer = GetTypeFromReference(r, (TypeReferenceHandle)scope, 0);
            return new(outer.Name + "+" + name, outer.Assembly, rawTypeKind == 0x11, [], false);
        }
        var asm = scope.Kind == HandleKind.AssemblyReference
            ? r.GetString(r.GetAssemblyReference((AssemblyReferenceHandle)scope).Name) : self;
        return new(Join(r.GetString(t.Namespace), name), asm, rawTypeKind == 0x11, [], false);
    }

    static string Join(string ns, string name) => ns.Length == 0 ? name : ns + "." + name;

    public SigType GetTypeFromSpecification(MetadataReader r, object? c, TypeSpecificationHandle h, byte k) =>
        r.GetTypeSpecification(h).DecodeSignature(this, c);
    public SigType GetGenericInstantiation(SigType g, System.Collections.Immutable.ImmutableArray<SigType> args) =>
        g with { Args = args, IsOpen = args.Any(a => a.IsOpen) };
    public SigType GetSZArrayType(SigType e) => new(e.Name + "[]", e.Assembly, false, [], e.IsOpen);
    public SigType GetArrayType(SigType e, ArrayShape s) => new(e.Name + "[*]", e.Assembly, false, [], e.IsOpen);
    public SigType GetByReferenceType(SigType e) => e;
    public SigType GetPointerType(SigType e) => Core("System.IntPtr", true);
    public SigType GetFunctionPointerType(MethodSignature<SigType> s) => Core("System.IntPtr", true);
    public SigType GetGenericMethodParameter(object? c, int i) => SigType.Object with { IsOpen = true };
    public SigType GetGenericTypeParameter(object? c, int i) => SigType.Object with { IsOpen = true };
    public SigType GetModifiedType(SigType m, SigType u, bool req) => u;
    public SigType GetPinnedType(SigType e) => e;
}

public static class PrintfRootsGenerator
{
    const string Func = "Microsoft.FSharp.Core.FSharpFunc`2";

    /// <summary>The rd.xml for every printf format in the assemblies, how many formats there are, and notes for the
    /// log.</summary>
    public static (string Xml, int Formats, List<string> Notes) Generate(IEnumerable<string> paths)
    {
        // Specializations`3 instantiation -> method name -> generic argument lists
        var roots = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var notes = new List<string>();
        var formats = 0;
        foreach (var path in paths.Distinct())
        {
            using var pe = new PEReader(File.OpenRead(path));
            if (!pe.HasMetadata) continue;
            var md = pe.GetMetadataReader();
            if (!md.IsAssembly) continue;
            var self = md.GetString(md.GetAssemblyDefinition().Name);
            var provider = new SigProvider(self);
            for (var row = 1; row <= md.GetTableRowCount(TableIndex.TypeSpec); row++)
            {
                var spec = md.GetTypeSpecification(MetadataTokens.TypeSpecificationHandle(row));
                var t = spec.DecodeSignature(provider, null);
                if (t.Name is not ("Microsoft.FSharp.Core.PrintfFormat`4" or "Microsoft.FSharp.Core.PrintfFormat`5"))
                    continue;
                formats++;
                var args = new List<SigType>();
                var printer = t.Args[0];
                // the curried printer type: FSharpFunc<A, FSharpFunc<B, ... Result>>, one argument per hole
                while (printer.Name == Func && printer.Args.Count == 2)
                {
                    args.Add(printer.Args[0]);
                    printer = printer.Args[1];
                }
                if (args.Any(a => a.IsOpen && a.IsValueType))
                    notes.Add($"{self}: a printf format over a generic argument: value types there are not covered");
                var state = string.Join(",", t.Args.Skip(1).Take(3).Select(a => "[" + (a.IsOpen ? SigType.Object : a)
                    .Qualified() + "]"));
                var owner = $"Microsoft.FSharp.Core.PrintfImpl+Specializations`3[{state}]";
                if (!roots.TryGetValue(owner, out var methods)) roots[owner] = methods = new(StringComparer.Ordinal);
                var erased = args.Select(a => a.Erased()).ToList();
                for (var start = 0; start < erased.Count; start++)
                    for (var n = 1; n <= 3 && start + n <= erased.Count; n++)
                    {
                        var w = erased.Skip(start).Take(n).ToList();
                        methods.Add($"CaptureFinal{n}|" + Names(w));
                        methods.Add($"Capture{n}|" + Names(w.Append(SigType.Object)));
                    }
                if (erased.Count == 1) methods.Add("OneStepWithArg|" + Names(erased));
                if (erased.Count == 2) methods.Add("TwoStepWithArg|" + Names(erased));
            }
        }
        var sb = new StringBuilder();
        sb.AppendLine("<Directives xmlns=\"http://schemas.microsoft.com/netfx/2013/01/metadata\">");
        sb.AppendLine("  <Application>");
        sb.AppendLine("    <Assembly Name=\"FSharp.Core\">");
        foreach (var (owner, methods) in roots)
        {
            sb.AppendLine($"      <Type Name=\"{owner}\">");
            foreach (var m in methods)
            {
                var parts = m.Split('|');
                sb.AppendLine($"        <Method Name=\"{parts[0]}\">");
                foreach (var a in parts[1].Split(';'))
                    sb.AppendLine($"          <GenericArgument Name=\"{a}\" />");
                sb.AppendLine("        </Method>");
            }
            sb.AppendLine("      </Type>");
        }
        sb.AppendLine("    </Assembly>");
        sb.AppendLine("  </Application>");
        sb.AppendLine("</Directives>");
        return (sb.ToString(), formats, notes);
    }

    static string Names(IEnumerable<SigType> ts) => string.Join(";", ts.Select(t => t.Qualified()));
}
