"""The four harvest spiders: pubmed, europepmc, openalex, crossref."""
