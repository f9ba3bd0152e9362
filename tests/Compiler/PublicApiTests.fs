/// Issue #17 point 4: the public surface is chosen, not accidental. The public types and members of the packed
/// libraries (Nn.Dsl, Nn.Compiler, Nn.Runtime), found by reflection, are exactly the list in docs/embedding.md's
/// section "The public API": an undocumented public member fails, and so does a documented one that does not exist.
module Nn.Tests.Compiler.PublicApiTests

open System
open System.IO
open System.Reflection
open System.Text.RegularExpressions
open Expecto
open Nn.Tests
open Nn.Tests.Compiler.PublicApi

/// Types public although they are not API. Empty since the merge of #17: every type of Nn.Runtime and Nn.Dsl, and the
/// compiler's values and built-in tables, are internal. Keep it empty; a type that must stay public for a while is
/// listed here with its reason, and the last test fails when a listed type is internal or gone.
module Pending =
    /// Namespaces whose public types are all pending.
    let runtimeNamespaces =
        ([]: string list)

    /// Runtime types that are pending.
    let runtimeTypes =
        ([]: string list)

    /// F# types that are pending.
    let fsharpTypes =
        ([]: string list)

    /// A pending type, or a type nested in one (an F# union's case classes).
    let contains (t: Type) =
        let rec outer (t: Type) = if isNull t.DeclaringType then t else outer t.DeclaringType
        let o = outer t
        List.contains o.Namespace runtimeNamespaces
        || List.contains o.FullName (runtimeTypes @ fsharpTypes)

/// The section "The public API" of docs/embedding.md: its items `- `Type`: `Member`, `Member`` (continued on
/// indented lines) as `Nn.Type` and `Nn.Type.Member` (`new` stands for a constructor), sorted.
let documented (text: string) =
    let start = text.IndexOf "\n## The public API"
    if start < 0 then failtest "docs/embedding.md has no section \"## The public API\""
    let section = text.Substring(start + 1).Replace("\r", "").Split("\n## ")[0]
    [ for m in Regex.Matches(section, @"^- `(\w+)`:(.*(?:\n  .*)*)", RegexOptions.Multiline) do
        let t = "Nn." + m.Groups[1].Value
        yield t
        for n in Regex.Matches(m.Groups[2].Value, @"`(\w+)`") -> t + "." + n.Groups[1].Value ]
    |> List.sort

/// The public surface outside the pending list, constructors written `new` as the docs do.
let actual () =
    [ for asm in packedAssemblies () do
        for t in publicTypes asm do
            if not (Pending.contains t) then
                let name = t.FullName.Replace('+', '.')
                yield name
                for m in members t -> name + "." + (if m.Name = ".ctor" then "new" else m.Name) ]
    |> List.distinct
    |> List.sort

/// The types a member's signature names (parameters, result, property, field or event type), with the element
/// and generic argument types inside them.
let signatureTypes (m: MemberInfo) =
    let rec expand (t: Type) =
        [ yield t
          if t.HasElementType then yield! expand (t.GetElementType())
          if t.IsGenericType then for a in t.GetGenericArguments() do yield! expand a ]
    let direct =
        match m with
        | :? MethodBase as mb ->
            [ for p in mb.GetParameters() -> p.ParameterType ]
            @ (match mb with :? MethodInfo as mi -> [ mi.ReturnType ] | _ -> [])
        | :? PropertyInfo as p -> p.PropertyType :: [ for i in p.GetIndexParameters() -> i.ParameterType ]
        | :? FieldInfo as f -> [ f.FieldType ]
        | :? EventInfo as e -> [ e.EventHandlerType ]
        | _ -> []
    direct |> List.collect expand |> List.filter (fun t -> not t.IsGenericParameter)

let private docs = lazy (File.ReadAllText(Path.Combine(TestUtil.repoRoot, "docs", "embedding.md")))

[<Tests>]
let tests =
    testList "Compiler.PublicApi" [
        test "every public type and member of the packages is listed in docs/embedding.md (The public API)" {
            let listed = Set.ofList (documented docs.Value)
            let undocumented = actual () |> List.filter (fun n -> not (listed.Contains n))
            Expect.equal undocumented [] "public but not in docs/embedding.md's list: make it internal, or document it"
        }

        test "every type and member that docs/embedding.md lists is public" {
            let present = Set.ofList (actual ())
            let missing = documented docs.Value |> List.filter (fun n -> not (present.Contains n))
            Expect.equal missing [] "listed in docs/embedding.md but not public in the packages"
        }

        test "the public API names no type a program cannot name (internal types, or pending ones)" {
            let hidden =
                [ for asm in packedAssemblies () do
                    for t in publicTypes asm do
                        if not (Pending.contains t) then
                            for m in members t do
                                for s in signatureTypes m do
                                    if not s.IsVisible || Pending.contains s then
                                        yield sprintf "%s.%s: %s" t.FullName m.Name s.FullName ]
                |> List.distinct
            Expect.equal hidden [] "members whose signature names a type that is not API"
        }

        test "Nn.Dsl and Nn.Runtime have no API of their own: outside the pending list, nothing is public" {
            let stray =
                [ for asm in packedAssemblies () do
                    if asm.GetName().Name <> "Nn.Compiler" then
                        for t in publicTypes asm do
                            if not (Pending.contains t) then yield t.FullName ]
            Expect.equal stray [] "public types of Nn.Dsl or Nn.Runtime that are not pending"
        }

        test "the pending list names only types that exist and are still public" {
            let publicNames =
                packedAssemblies () |> List.collect publicTypes |> List.map (fun t -> t.FullName) |> Set.ofList
            let stale =
                Pending.runtimeTypes @ Pending.fsharpTypes |> List.filter (fun n -> not (publicNames.Contains n))
            Expect.equal stale [] "pending types that are internal now (or gone): remove them from the list"
        }

        test "the reflection sees the API and the docs' list parses (the checks above are not vacuous)" {
            let names = actual ()
            for n in [ "Nn.NnModel.Compile"; "Nn.NnTensor.new"; "Nn.NnTrainer.EpochCompleted"; "Nn.NnShape.Rank" ] do
                Expect.contains names n (sprintf "%s is public" n)
            let listed = documented docs.Value
            Expect.contains listed "Nn.NnModel.Compile" "the docs' list has NnModel.Compile"
            Expect.isGreaterThan listed.Length 100 "the docs' list has every member"
            let sample = "x\n## The public API\ntext `Z`\n\n- `A`: `B`,\n  `C`\n- `D`:\n\n## Next\n- `E`: `F`\n"
            Expect.equal (documented sample) [ "Nn.A"; "Nn.A.B"; "Nn.A.C"; "Nn.D" ] "rows of the section only"
        }

        test "an internal type in a signature is found" {
            let m = typeof<Nn.NnTensor>.GetMethod("GetRow")
            Expect.contains (signatureTypes m) typeof<float32[]> "the result type"
            Expect.contains (signatureTypes m) typeof<float32> "the element type inside it"
            // EpochEventArgs' constructor is internal because it takes the runtime's EpochReport, which is internal
            let ctor = typeof<Nn.EpochEventArgs>.GetConstructors(BindingFlags.NonPublic ||| BindingFlags.Instance)
            let hidden = ctor |> Seq.collect signatureTypes |> Seq.filter (fun t -> not t.IsVisible) |> List.ofSeq
            Expect.equal (hidden |> List.map (fun t -> t.Name)) [ "EpochReport" ] "the check sees an internal type"
        }
    ]
