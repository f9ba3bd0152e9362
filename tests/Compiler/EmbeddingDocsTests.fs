/// Issue #15 point 16: docs/embedding.md says what the embedding API is. Its C# snippets (and README.md's) compile
/// against the built assemblies, and every public member of the API is described in it.
module Nn.Tests.Compiler.EmbeddingDocsTests

open System
open System.IO
open System.Reflection
open System.Text.RegularExpressions
open Expecto
open Microsoft.CodeAnalysis
open Microsoft.CodeAnalysis.CSharp
open Nn.Tests

let private docs = lazy (File.ReadAllText(Path.Combine(TestUtil.repoRoot, "docs", "embedding.md")))

/// The ```csharp blocks of a Markdown file.
let private csharpBlocks (file: string) =
    let text = File.ReadAllText(Path.Combine(TestUtil.repoRoot, file)).Replace("\r", "")
    [ for m in Regex.Matches(text, "```csharp\n(.*?)```", RegexOptions.Singleline) -> m.Groups[1].Value ]

/// The errors of compiling a snippet as a program's top-level statements, with the SDK's implicit usings, against
/// the runtime and the built nn assemblies.
let private compileErrors (code: string) =
    let implicitUsings =
        "global using System; global using System.IO; global using System.Linq; "
        + "global using System.Collections.Generic;\n"
    let trees =
        [ CSharpSyntaxTree.ParseText(implicitUsings, CSharpParseOptions(LanguageVersion.Latest))
          CSharpSyntaxTree.ParseText(code, CSharpParseOptions(LanguageVersion.Latest)) ]
    let platform = (AppContext.GetData "TRUSTED_PLATFORM_ASSEMBLIES" :?> string).Split(Path.PathSeparator)
    let ours =
        [ "Nn.Compiler.dll"; "Nn.Runtime.dll"; "Nn.Dsl.dll"; "FSharp.Core.dll" ]
        |> List.map (fun f -> Path.Combine(AppContext.BaseDirectory, f))
    let refs =
        Seq.append platform ours
        |> Seq.distinct
        |> Seq.map (fun p -> MetadataReference.CreateFromFile p :> MetadataReference)
    let compilation =
        CSharpCompilation.Create(
            "snippet",
            trees,
            refs,
            CSharpCompilationOptions(
                OutputKind.ConsoleApplication,
                nullableContextOptions = NullableContextOptions.Enable
            )
        )
    use ms = new MemoryStream()
    let result = compilation.Emit ms
    result.Diagnostics |> Seq.filter (fun d -> d.Severity = DiagnosticSeverity.Error) |> Seq.map string |> List.ofSeq

/// The public types of the embedding API (namespace Nn of Nn.Compiler) and their own public members.
let private publicMembers () =
    let asm = typeof<Nn.NnModel>.Assembly
    [ for t in asm.GetExportedTypes() do
        if t.Namespace = "Nn" then
            yield t.Name, t.Name
            let flags =
                BindingFlags.Public ||| BindingFlags.Instance ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly
            for m in t.GetMembers flags do
                let special = match m with :? MethodInfo as mi -> mi.IsSpecialName | _ -> false
                let isObject = List.contains m.Name [ "ToString"; "Equals"; "GetHashCode"; ".ctor"; "GetType" ]
                let nested = m.MemberType = MemberTypes.NestedType
                if not special && not isObject && not nested then yield t.Name, m.Name ]
    |> List.distinct

[<Tests>]
let tests =
    testList "Compiler.EmbeddingDocs" [
        test "every C# snippet of docs/embedding.md and README.md compiles" {
            let blocks = csharpBlocks "docs/embedding.md" @ csharpBlocks "README.md"
            Expect.isGreaterThanOrEqual blocks.Length 2 "the docs have C# snippets"
            for code in blocks do
                Expect.equal (compileErrors code) [] (sprintf "the snippet compiles:\n%s" code)
        }

        test "the snippet compiler sees errors (a wrong member name fails)" {
            Expect.isNonEmpty (compileErrors "var m = Nn.NnModel.Compyle(\"\");") "a misspelt member is an error"
        }

        test "every public type and member of the embedding API is described in docs/embedding.md" {
            let text = docs.Value
            let described (name: string) =
                Regex.IsMatch(text, sprintf "(`|\\.)%s(`|\\(|\\b)" (Regex.Escape name))
            let missing =
                publicMembers ()
                |> List.filter (fun (_, m) -> not (described m))
                |> List.map (fun (t, m) -> t + "." + m)
            Expect.equal missing [] "undocumented members"
        }

        test "NnParameter.Shape prints as a shape" {
            let m = Nn.NnModel.Compile("network a (x: [n, 2]) : [n, 3] = x |> dense 3", "a.nn").EnsureSuccess()
            let w = m.Parameters |> Seq.find (fun p -> p.Path = "dense1.w")
            Expect.equal (string w.Shape) "[2, 3]" "prints as the program writes it"
            Expect.equal w.Shape.Sizes [| 2; 3 |] "and gives its sizes"
            Expect.equal (string w) "dense1.w [2, 3]" "the parameter prints with it"
        }
    ]
