"""`synth fakeapi`: serve a corpus through local fake PubMed / Europe PMC / OpenAlex / Crossref APIs."""

from __future__ import annotations

import json
import threading

import click

from synth.errors import SynthError


@click.command("fakeapi")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--corpus", "corpus_file", type=click.Path(dir_okay=False),
              help="Corpus JSONL (default: the bundled sample).")
@click.option("--generate", type=click.IntRange(1, 1_000_000), metavar="N",
              help="Serve N generated studies instead of a corpus file.")
@click.option("--error-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of requests answered 500/429.")
@click.option("--retry-after", default=1.0, show_default=True, type=click.FloatRange(0), help="Retry-After on 429s.")
@click.option("--burst-500", default=0, type=click.IntRange(0), help="First N requests per source answer 500.")
@click.option("--delay", default=0.0, type=click.FloatRange(0), help="Seconds added to every response.")
@click.option("--esearch-ceiling", default=9999, show_default=True, type=click.IntRange(1),
              help="PubMed ESearch's paging limit.")
def fakeapi_cmd(port, corpus_file, generate, error_rate, retry_after, burst_500, delay, esearch_ceiling):
    """Serve a corpus through local fake bibliographic APIs until Ctrl-C.

    Prints each source's base_url; paste the printed [sources.*] lines into synth.toml
    to harvest from the local server instead of the real APIs."""
    from synth.fakeapi import FakeAPIServer, Faults, generate_corpus, load_sample_corpus

    if corpus_file and generate:
        raise SynthError("give either --corpus or --generate, not both")
    try:
        corpus = generate_corpus(generate) if generate else load_sample_corpus(corpus_file)
    except (OSError, ValueError, json.JSONDecodeError) as e:
        raise SynthError(f"cannot read the corpus: {e}") from None
    faults = Faults(error_rate=error_rate, retry_after=retry_after, burst_500=burst_500, delay=delay,
                    esearch_ceiling=esearch_ceiling)
    try:
        api = FakeAPIServer(corpus, faults=faults, port=port).start()
    except OSError as e:
        raise SynthError(f"cannot listen on 127.0.0.1:{port}: {e.strerror or e}") from None
    try:
        counts = {s: len(api.records(s)) for s in ("pubmed", "europepmc", "openalex", "crossref")}
        click.echo(f"Serving {len(corpus)} studies on {api.url}  (Ctrl-C to stop)")
        for source, n in counts.items():
            click.echo(f"\n[sources.{source}]\nbase_url = \"{api.base_url(source)}\"   # {n} records")
        click.echo("", nl=True)
        threading.Event().wait()  # until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()
        click.echo(f"Stopped after {len(api.requests)} requests.", err=True)


COMMANDS = [fakeapi_cmd]
