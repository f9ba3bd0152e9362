/// The public surface of the packed assemblies, by reflection: what a program that references the packages can
/// name. PublicApiTests pins it against docs/embedding.md; `dotnet run --project tests/Tests.fsproj -c Release
/// --no-build -- --public-api` prints the counts per assembly (the numbers of issue #17's closing note).
module Nn.Tests.Compiler.PublicApi

open System
open System.Reflection

/// The libraries `dotnet pack` makes (the `nn` tool is a program, not a library: its surface is not counted).
let packedAssemblies () =
    [ typeof<Nn.Dsl.Diagnostic>.Assembly; typeof<Nn.NnModel>.Assembly; typeof<Nn.Runtime.SourceSpan>.Assembly ]

/// Public, declared-here members of a type, by name: methods, properties, fields, events and constructors, without
/// accessors, operators' special names, enum's value__ or nested types (counted as types of their own).
let members (t: Type) =
    let flags = BindingFlags.Public ||| BindingFlags.Instance ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly
    [ for m in t.GetMembers flags do
        let special =
            match m with
            | :? MethodBase as mb -> mb.IsSpecialName && not mb.IsConstructor
            | :? FieldInfo as f -> f.IsSpecialName
            | _ -> false
        if not special && m.MemberType <> MemberTypes.NestedType then yield m ]

/// An F# module (compiled to a static class marked by the compiler).
let isFSharpModule (t: Type) =
    t.GetCustomAttributes(typeof<CompilationMappingAttribute>, false)
    |> Seq.exists (fun a -> (a :?> CompilationMappingAttribute).SourceConstructFlags = SourceConstructFlags.Module)

/// The public types of an assembly (public nested types of public types included), sorted by full name.
let publicTypes (asm: Assembly) = asm.GetExportedTypes() |> Array.sortBy (fun t -> t.FullName) |> List.ofArray

/// The surface as `Namespace.Type` and `Namespace.Type.Member` names (overloads once), sorted.
let surface (asm: Assembly) =
    [ for t in publicTypes asm do
        let name = t.FullName.Replace('+', '.')
        yield name
        for m in members t -> name + "." + m.Name ]
    |> List.distinct
    |> List.sort

/// Public types, public members of those types, and of those the functions and values of F# modules.
type Counts = { Assembly: string; Types: int; Members: int; ModuleFunctions: int }

let counts (asm: Assembly) =
    let types = publicTypes asm
    { Assembly = asm.GetName().Name
      Types = types.Length
      Members = types |> List.sumBy (members >> List.length)
      ModuleFunctions = types |> List.filter isFSharpModule |> List.sumBy (members >> List.length) }

/// Prints one line per packed assembly (`--public-api`); with `--list`, every public name too.
let report (args: string list) =
    for asm in packedAssemblies () do
        let c = counts asm
        printfn "%-12s %4d public types, %5d public members (%d in F# modules)"
            c.Assembly c.Types c.Members c.ModuleFunctions
        if List.contains "--list" args then
            for name in surface asm do printfn "  %s" name
    0
