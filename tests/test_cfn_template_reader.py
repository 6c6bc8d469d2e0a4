from __future__ import annotations

from pathlib import Path

from snail_action.cfn_template import load_template


def test_short_form_tags_become_long_form(tmp_path: Path) -> None:
    doc = tmp_path / "t.yaml"
    doc.write_text(
        "A: !Ref Bucket\n"
        "B: !GetAtt Fn.Arn\n"
        "C: !Sub '${AWS::StackName}-x'\n"
        "D: !If [IsIam, !Ref X, !Ref AWS::NoValue]\n"
        "E: !And [!Condition One, !Condition Two]\n"
        "F: !Join ['', [a, b]]\n"
    )
    t = load_template(doc)
    assert t["A"] == {"Ref": "Bucket"}
    assert t["B"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert t["C"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert t["D"] == {"Fn::If": ["IsIam", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]}
    assert t["E"] == {"Fn::And": [{"Condition": "One"}, {"Condition": "Two"}]}
    assert t["F"] == {"Fn::Join": ["", ["a", "b"]]}


def test_reads_the_project_template() -> None:
    t = load_template()
    assert t["Resources"]["ImageTable"]["Type"] == "AWS::DynamoDB::Table"
