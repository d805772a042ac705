"""Display names from real mail, in Czech, Polish, English and German: comments,
quotes, titles, suffixes and company tails never become a last name."""

from __future__ import annotations

import pytest

from server.sync.person_names import clean_display_name, split_name

NAMES = [
    # the order "Last, First" and particles
    ("Novák, Jan", ("Jan", "Novák")),
    ("O'Brien, Mary", ("Mary", "O'Brien")),
    ("van der Berg, Anna", ("Anna", "van der Berg")),
    ("Robbins, Lynne", ("Lynne", "Robbins")),
    ('"Robbins, Lynne"', ("Lynne", "Robbins")),
    ("Ludwig van Beethoven", ("Ludwig", "van Beethoven")),
    ("Prof. Dr. Klaus von Weizsäcker", ("Klaus", "von Weizsäcker")),
    ("NOVÁK Jan", ("Jan", "Novák")),
    # titles before and after (Czech, Slovak, Polish, German, English)
    ("Ing. Petr Svoboda, Ph.D.", ("Petr", "Svoboda")),
    ("Dr. Hans-Peter Müller", ("Hans-Peter", "Müller")),
    ("Mgr. Jana Nováková, DiS.", ("Jana", "Nováková")),
    ("MUDr. Jana Nováková", ("Jana", "Nováková")),
    ("Bc. Tomáš Černý", ("Tomáš", "Černý")),
    ("Prof. Ing. Jan Malý, DrSc.", ("Jan", "Malý")),
    ("Petr Novotný, CSc.", ("Petr", "Novotný")),
    ("JUDr. Ing. Pavel Dvořák, Ph.D., MBA", ("Pavel", "Dvořák")),
    ("Dipl.-Ing. Jürgen Weiß", ("Jürgen", "Weiß")),
    ("Herr Stefan Schröder", ("Stefan", "Schröder")),
    ("Dr. med. Anna Schmidt", ("Anna", "Schmidt")),
    ("dr inż. Piotr Zieliński", ("Piotr", "Zieliński")),
    ("mgr Katarzyna Lewandowska", ("Katarzyna", "Lewandowska")),
    ("John Smith Jr.", ("John", "Smith")),
    ("Mary-Jane O'Connor PhD", ("Mary-Jane", "O'Connor")),
    ("Mr. John Smith", ("John", "Smith")),
    # double-barrelled and middle names
    ("Zofia Wiśniewska-Kowalska", ("Zofia", "Wiśniewska-Kowalska")),
    ("Anna Maria Nowak", ("Anna Maria", "Nowak")),
    # comments and quotes
    ("Henrik (private)", ("Henrik", "")),
    ("Henrik (private) <henrik.larsen@gmail.com>", ("Henrik", "")),
    ("'Jan Dvořák' (private)", ("Jan", "Dvořák")),
    ("Hans Müller (ACME GmbH)", ("Hans", "Müller")),
    ("“Tomasz Zieliński”", ("Tomasz", "Zieliński")),
    ("„Łukasz Wójcik“ [MeblePortal]", ("Łukasz", "Wójcik")),
    ("'Lynne Robbins'", ("Lynne", "Robbins")),
    # company tails
    ("Jan Novák | Stavby", ("Jan", "Novák")),
    ("Anna Nowak - Firma sp. z o.o.", ("Anna", "Nowak")),
    ("Łukasz Wójcik / MeblePortal", ("Łukasz", "Wójcik")),
    ("Jan Novák, Stavby Morava s.r.o.", ("Jan", "Novák")),
    ("Tereza Svobodová – Stavby Morava", ("Tereza", "Svobodová")),
    # no name at all
    ("Cher", ("Cher", "")),
    ("  Cher  ", ("Cher", "")),
    ("henrik.larsen@gmail.com", ("", "")),
    ("Dr. Ing.", ("", "")),
    ("", ("", "")),
]


@pytest.mark.parametrize("name, expected", NAMES)
def test_split_name_of_real_world_display_names(name, expected):
    assert split_name(name, "henrik.larsen@gmail.com") == expected


def test_the_table_covers_thirty_names_and_more():
    assert len(NAMES) >= 30


@pytest.mark.parametrize(
    "name, cleaned",
    [
        ("Henrik (private) <henrik.larsen@gmail.com>", "Henrik"),
        ("'Jan Dvořák' (private)", "Jan Dvořák"),
        ("Jan Novák | Stavby", "Jan Novák"),
        ("Ing. Petr Svoboda, Ph.D.", "Ing. Petr Svoboda, Ph.D."),
        ("Hans-Peter Müller", "Hans-Peter Müller"),
    ],
)
def test_clean_display_name_drops_comments_quotes_and_company_tails(name, cleaned):
    assert clean_display_name(name) == cleaned
