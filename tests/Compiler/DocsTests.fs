/// docs/language.md cannot drift from the code: every built-in name and every diagnostic code is documented.
module Nn.Tests.Compiler.DocsTests

open System.IO
open System.Text.RegularExpressions
open Expecto
open Nn.Tests.TestUtil

let private docs () = File.ReadAllText(Path.Combine(repoRoot, "docs", "language.md"))

/// Every "NNxxxx" string literal in the source tree (F# and C#), with the file that uses it.
let sourceCodes () =
    Directory.EnumerateFiles(Path.Combine(repoRoot, "src"), "*.*", SearchOption.AllDirectories)
    |> Seq.filter (fun f ->
        (f.EndsWith ".fs" || f.EndsWith ".cs") && not (f.Contains "/obj/") && not (f.Contains "/bin/"))
    |> Seq.collect (fun f ->
        Regex.Matches(File.ReadAllText f, "\"(NN[0-9]{4})\"")
        |> Seq.map (fun m -> m.Groups[1].Value, Path.GetFileName f))
    |> Seq.distinctBy fst
    |> List.ofSeq

/// The codes listed in the diagnostics table (rows `| NNxxxx | meaning |`).
let tableCodes (text: string) =
    Regex.Matches(text, @"^\| (NN[0-9]{4}) \|", RegexOptions.Multiline)
    |> Seq.map (fun m -> m.Groups[1].Value)
    |> Set.ofSeq

[<Tests>]
let tests =
    testList "Compiler.Docs" [
        test "every built-in name is mentioned in docs/language.md" {
            let text = docs ()
            let missing =
                Nn.Compiler.Builtins.Table.allNames
                |> List.filter (fun name -> not (Regex.IsMatch(text, "(?<![\\w.])" + Regex.Escape name + "(?![\\w])")))
            Expect.isEmpty missing "built-ins missing from docs/language.md"
        }

        test "every function of the prelude is documented in the prelude section" {
            let text = docs ()
            let section = text.Substring(text.IndexOf "## The prelude").Split("\n## ")[0]
            let names =
                Regex.Matches(Nn.Compiler.Prelude.source, @"(?m)^let\s+([A-Za-z_][\w']*)")
                |> Seq.map (fun m -> m.Groups[1].Value)
                |> List.ofSeq
            for required in [ "dense"; "residual"; "layerNorm"; "standardize"; "repeat"; "sequential"; "tower" ] do
                Expect.contains names required (sprintf "the prelude defines `%s`" required)
            let missing = names |> List.filter (fun n -> not (Regex.IsMatch(section, "`" + Regex.Escape n + "[ `]")))
            Expect.isEmpty missing "prelude functions missing from the prelude section of docs/language.md"
        }

        test "every diagnostic code in the source is in the docs' table" {
            let table = tableCodes (docs ())
            let missing = sourceCodes () |> List.filter (fun (c, _) -> not (table.Contains c))
            Expect.isEmpty missing "codes (and a file using each) missing from the table in docs/language.md"
        }

        test "the source has codes of every stage (the scan itself works)" {
            let codes = sourceCodes () |> List.map fst |> Set.ofList
            for c in [ "NN0101"; "NN0201"; "NN0301"; "NN0401"; "NN0501"; "NN0550"; "NN0601"; "NN0701" ] do
                Expect.isTrue (codes.Contains c) (sprintf "%s found in src/" c)
        }

        test "the table lists no code twice and no code the source does not use" {
            let rows =
                Regex.Matches(docs (), @"^\| (NN[0-9]{4}) \|", RegexOptions.Multiline)
                |> Seq.map (fun m -> m.Groups[1].Value)
                |> List.ofSeq
            Expect.equal (List.distinct rows) rows "each code once"
            let used = sourceCodes () |> List.map fst |> Set.ofList
            Expect.isEmpty (rows |> List.filter (fun c -> not (used.Contains c))) "documented codes that nothing raises"
        }
    ]
