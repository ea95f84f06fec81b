"""Subject -> category tables of the benchmarks' own leaderboards, and the category averages.

Sources (copied, not re-derived):
  MMLU   hendrycks/test categories.py @ 4450500f: `subcategories` (57 subjects -> subcategory) and
         `categories` (subcategory -> STEM, humanities, social sciences, "other (business, health, misc.)",
         shortened here to "other"). A category's accuracy is over all its questions (micro), as the
         MMLU evaluation scripts built on that file do (np.mean of the concatenated correctness arrays).
  C-Eval hkust-nlp/ceval subject_mapping.json @ cba65ae9: the third field of each subject (STEM, Social
         Science, Humanities, Other); C-Eval Hard is the 8 subjects named in its README ("C-Eval Hard
         Leaderboard"). A category's accuracy is the mean of its subjects' accuracies, as its leaderboard.
  CMMLU  haonan-li/CMMLU src/categories.py @ d6e7b716: `subcategories` and `categories`; a subject counts
         in every category one of its subcategories belongs to (so "China specific" overlaps the others),
         as src/mp_utils.py's category2subject; a category's accuracy is the mean of its subjects'
         accuracies (mp_utils.py: np.mean over all_acc of the category's subjects).
"""

from __future__ import annotations

from typing import Literal

MMLU: dict[str, str] = {
    'abstract_algebra': 'STEM',
    'anatomy': 'other',
    'astronomy': 'STEM',
    'business_ethics': 'other',
    'clinical_knowledge': 'other',
    'college_biology': 'STEM',
    'college_chemistry': 'STEM',
    'college_computer_science': 'STEM',
    'college_mathematics': 'STEM',
    'college_medicine': 'other',
    'college_physics': 'STEM',
    'computer_security': 'STEM',
    'conceptual_physics': 'STEM',
    'econometrics': 'social sciences',
    'electrical_engineering': 'STEM',
    'elementary_mathematics': 'STEM',
    'formal_logic': 'humanities',
    'global_facts': 'other',
    'high_school_biology': 'STEM',
    'high_school_chemistry': 'STEM',
    'high_school_computer_science': 'STEM',
    'high_school_european_history': 'humanities',
    'high_school_geography': 'social sciences',
    'high_school_government_and_politics': 'social sciences',
    'high_school_macroeconomics': 'social sciences',
    'high_school_mathematics': 'STEM',
    'high_school_microeconomics': 'social sciences',
    'high_school_physics': 'STEM',
    'high_school_psychology': 'social sciences',
    'high_school_statistics': 'STEM',
    'high_school_us_history': 'humanities',
    'high_school_world_history': 'humanities',
    'human_aging': 'other',
    'human_sexuality': 'social sciences',
    'international_law': 'humanities',
    'jurisprudence': 'humanities',
    'logical_fallacies': 'humanities',
    'machine_learning': 'STEM',
    'management': 'other',
    'marketing': 'other',
    'medical_genetics': 'other',
    'miscellaneous': 'other',
    'moral_disputes': 'humanities',
    'moral_scenarios': 'humanities',
    'nutrition': 'other',
    'philosophy': 'humanities',
    'prehistory': 'humanities',
    'professional_accounting': 'other',
    'professional_law': 'humanities',
    'professional_medicine': 'other',
    'professional_psychology': 'social sciences',
    'public_relations': 'social sciences',
    'security_studies': 'social sciences',
    'sociology': 'social sciences',
    'us_foreign_policy': 'social sciences',
    'virology': 'other',
    'world_religions': 'humanities',
}

CEVAL: dict[str, str] = {
    'computer_network': 'STEM',
    'operating_system': 'STEM',
    'computer_architecture': 'STEM',
    'college_programming': 'STEM',
    'college_physics': 'STEM',
    'college_chemistry': 'STEM',
    'advanced_mathematics': 'STEM',
    'probability_and_statistics': 'STEM',
    'discrete_mathematics': 'STEM',
    'electrical_engineer': 'STEM',
    'metrology_engineer': 'STEM',
    'high_school_mathematics': 'STEM',
    'high_school_physics': 'STEM',
    'high_school_chemistry': 'STEM',
    'high_school_biology': 'STEM',
    'middle_school_mathematics': 'STEM',
    'middle_school_biology': 'STEM',
    'middle_school_physics': 'STEM',
    'middle_school_chemistry': 'STEM',
    'veterinary_medicine': 'STEM',
    'college_economics': 'Social Science',
    'business_administration': 'Social Science',
    'marxism': 'Social Science',
    'mao_zedong_thought': 'Social Science',
    'education_science': 'Social Science',
    'teacher_qualification': 'Social Science',
    'high_school_politics': 'Social Science',
    'high_school_geography': 'Social Science',
    'middle_school_politics': 'Social Science',
    'middle_school_geography': 'Social Science',
    'modern_chinese_history': 'Humanities',
    'ideological_and_moral_cultivation': 'Humanities',
    'logic': 'Humanities',
    'law': 'Humanities',
    'chinese_language_and_literature': 'Humanities',
    'art_studies': 'Humanities',
    'professional_tour_guide': 'Humanities',
    'legal_professional': 'Humanities',
    'high_school_chinese': 'Humanities',
    'high_school_history': 'Humanities',
    'middle_school_history': 'Humanities',
    'civil_servant': 'Other',
    'sports_science': 'Other',
    'plant_protection': 'Other',
    'basic_medicine': 'Other',
    'clinical_medicine': 'Other',
    'urban_and_rural_planner': 'Other',
    'accountant': 'Other',
    'fire_engineer': 'Other',
    'environmental_impact_assessment_engineer': 'Other',
    'tax_accountant': 'Other',
    'physician': 'Other',
}

CEVAL_HARD = (
    "advanced_mathematics", "discrete_mathematics", "probability_and_statistics", "college_chemistry",
    "college_physics", "high_school_mathematics", "high_school_chemistry", "high_school_physics",
)

CMMLU: dict[str, list[str]] = {
    'agronomy': ['Other'],
    'anatomy': ['STEM'],
    'ancient_chinese': ['Social Science', 'China specific'],
    'arts': ['Humanities'],
    'astronomy': ['STEM'],
    'business_ethics': ['Social Science'],
    'chinese_civil_service_exam': ['Social Science', 'China specific'],
    'chinese_driving_rule': ['Other', 'China specific'],
    'chinese_food_culture': ['Social Science', 'China specific'],
    'chinese_foreign_policy': ['Social Science', 'China specific'],
    'chinese_history': ['Humanities', 'China specific'],
    'chinese_literature': ['Humanities', 'China specific'],
    'chinese_teacher_qualification': ['Social Science', 'China specific'],
    'college_actuarial_science': ['STEM'],
    'college_education': ['Social Science'],
    'college_engineering_hydrology': ['STEM'],
    'college_law': ['Humanities'],
    'college_mathematics': ['STEM'],
    'college_medical_statistics': ['STEM'],
    'clinical_knowledge': ['Other'],
    'college_medicine': ['Other'],
    'computer_science': ['STEM'],
    'computer_security': ['Other'],
    'conceptual_physics': ['STEM'],
    'construction_project_management': ['Other', 'China specific'],
    'economics': ['Social Science'],
    'education': ['Social Science'],
    'elementary_chinese': ['Social Science', 'China specific'],
    'elementary_commonsense': ['Other', 'China specific'],
    'elementary_information_and_technology': ['Other'],
    'electrical_engineering': ['STEM'],
    'elementary_mathematics': ['STEM'],
    'ethnology': ['Social Science', 'China specific'],
    'food_science': ['Other'],
    'genetics': ['STEM'],
    'global_facts': ['Humanities'],
    'high_school_biology': ['STEM'],
    'high_school_chemistry': ['STEM'],
    'high_school_geography': ['Social Science'],
    'high_school_mathematics': ['STEM'],
    'high_school_physics': ['STEM'],
    'high_school_politics': ['Social Science', 'China specific'],
    'human_sexuality': ['Other'],
    'international_law': ['Humanities'],
    'journalism': ['Social Science'],
    'jurisprudence': ['Humanities'],
    'legal_and_moral_basis': ['Other'],
    'logical': ['Humanities'],
    'machine_learning': ['STEM'],
    'management': ['Social Science'],
    'marketing': ['Social Science'],
    'marxist_theory': ['Humanities'],
    'modern_chinese': ['Social Science', 'China specific'],
    'nutrition': ['Other'],
    'philosophy': ['Humanities'],
    'professional_accounting': ['Social Science'],
    'professional_law': ['Humanities'],
    'professional_medicine': ['Other'],
    'professional_psychology': ['Social Science'],
    'public_relations': ['Social Science'],
    'security_study': ['Social Science'],
    'sociology': ['Social Science'],
    'sports_science': ['Other'],
    'traditional_chinese_medicine': ['Other', 'China specific'],
    'virology': ['STEM'],
    'world_history': ['Humanities'],
    'world_religions': ['Humanities'],
}

MICRO = "micro: correct / questions over the category's subjects"
MACRO = "mean of the category's subjects' accuracies"


def subject_categories(fmt: str, subject: str) -> list[str]:
    """The leaderboard categories `subject` counts in for benchmark format `fmt` ([] when unknown)."""
    if fmt == "mmlu":
        return [MMLU[subject]] if subject in MMLU else []
    if fmt == "ceval":
        found = [CEVAL[subject]] if subject in CEVAL else []
        return found + (["Hard"] if subject in CEVAL_HARD else [])
    if fmt == "cmmlu":
        return list(CMMLU.get(subject, []))
    return []


def averaging(fmt: str) -> Literal["micro", "macro"]:
    return "micro" if fmt == "mmlu" else "macro"


def aggregate(fmt: str, subjects: dict[str, dict]) -> dict[str, dict] | None:
    """Per category of the benchmark's leaderboard: {correct, n, accuracy, subjects, averaged}; None for
    a format without a table. `subjects` is {subject: {"n", "correct", "accuracy"}} (results.json)."""
    if fmt not in ("mmlu", "ceval", "cmmlu"):
        return None
    members: dict[str, list[str]] = {}
    for subject in subjects:
        for category in subject_categories(fmt, subject):
            members.setdefault(category, []).append(subject)
    out = {}
    for category, names in members.items():
        n = sum(subjects[s]["n"] for s in names)
        correct = sum(subjects[s]["correct"] for s in names)
        if averaging(fmt) == "micro":
            accuracy = correct / n if n else float("nan")
        else:
            accuracy = sum(subjects[s]["accuracy"] for s in names) / len(names)
        out[category] = {"correct": correct, "n": n, "accuracy": accuracy, "subjects": names,
                         "averaged": MICRO if averaging(fmt) == "micro" else MACRO}
    return out
