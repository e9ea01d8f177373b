import { Alert, Badge, Button, Card, Group, Modal, Rating, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useState } from "react";
import { Link } from "react-router-dom";
import { useApi, useLoad } from "../api/context";
import type { ForkInfo, ListingInfo } from "../api/types";
import { downloadBlob, Empty, ErrorAlert, Loading, metric } from "../components/common";

function Stars({ value, count }: { value: number | null; count: number }) {
  return <Text size="sm" span>{value === null ? "no ratings" : `★ ${value.toFixed(1)} (${count})`}</Text>;
}

function ListingCard({ listing, onOpen, extra }: { listing: ListingInfo; onOpen: () => void; extra?: string }) {
  return (
    <Card withBorder data-testid="listing-card">
      <Stack gap={4}>
        <Text fw={700}>{listing.title}</Text>
        <Text size="sm">by @{listing.author_tenant_id} · <Stars value={listing.rating_avg} count={listing.rating_count} /> · Downloads: {listing.downloads}</Text>
        <Text size="sm" c="dimmed" lineClamp={2}>{listing.description}</Text>
        <Group gap={4}><Badge variant="light">{listing.template}</Badge><Badge variant="light" color="gray">{listing.algorithm}</Badge>{listing.verified && <Badge color="teal.9" variant="outline">verified</Badge>}</Group>
        {extra && <Text size="xs" c="dimmed">{extra}</Text>}
        <Group><Button size="xs" onClick={onOpen} aria-label={`Preview ${listing.title}`}>Preview</Button></Group>
      </Stack>
    </Card>
  );
}

function CardModal({ id, onClose, onChanged }: { id: string; onClose: () => void; onChanged: () => void }) {
  const { client } = useApi();
  const card = useLoad((c) => c.card(id), [id]);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [forkName, setForkName] = useState("");
  const [fork, setFork] = useState<ForkInfo | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const act = async (what: string, fn: () => Promise<string>) => {
    setBusy(what);
    setError(null);
    setMessage(null);
    try {
      setMessage(await fn());
      card.reload();
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const c = card.data;
  const metrics = c ? [...new Set([...Object.keys(c.verified_metrics), ...Object.keys(c.reported_metrics)])].filter((k) => !["k", "n_races"].includes(k)) : [];
  return (
    <Modal opened onClose={onClose} title={c?.title ?? "Model card"} size="lg" closeButtonProps={{ "aria-label": "Close" }}>
      {card.loading && !c ? <Loading /> : card.error ? <ErrorAlert error={card.error} /> : c && (
        <Stack>
          <Text size="sm">by @{c.author_tenant_id} · {c.template} · {c.algorithm} · v{c.model_version} · <Stars value={c.rating_avg} count={c.rating_count} /> · Downloads: {c.downloads}</Text>
          <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>{c.description}</Text>
          <div className="table-scroll">
            <Table striped data-testid="card-metrics">
              <Table.Thead><Table.Tr><Table.Th>Metric</Table.Th><Table.Th>Verified by Pitwall</Table.Th><Table.Th>Author's claim</Table.Th><Table.Th>Baseline</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {metrics.map((k) => (
                  <Table.Tr key={k}><Table.Td>{k}</Table.Td><Table.Td>{metric(k, c.verified_metrics[k])}</Table.Td><Table.Td>{metric(k, c.reported_metrics[k])}</Table.Td><Table.Td>{metric(k, c.baseline_metrics[k])}</Table.Td></Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
          <Text size="xs" c="dimmed">{c.metrics_note}</Text>
          <Group align="center">
            <Text size="sm" id="rate-label">Your rating</Text>
            <Rating value={c.my_rating ?? 0} aria-labelledby="rate-label" onChange={(stars) => act("rate", async () => { const r = await client.rate(c.listing_id, stars); return `Rated ${r.stars} ★ (average ${r.rating_avg?.toFixed(1)} of ${r.rating_count}).`; })} />
          </Group>
          <Group>
            <Button variant="outline" loading={busy === "download"} onClick={() => act("download", async () => {
              const d = await client.download(c.listing_id);
              if (d.bundle_base64) {
                const bytes = Uint8Array.from(atob(d.bundle_base64), (ch) => ch.charCodeAt(0));
                downloadBlob(d.file_name, new Blob([bytes], { type: "application/zip" }));
              } else if (d.url) {
                window.location.assign(d.url);
              }
              return `Downloaded ${d.file_name} (${d.size_bytes} bytes, sha256 ${d.bundle_sha256.slice(0, 12)}…).`;
            })}>Download</Button>
          </Group>
          <Group align="end">
            <TextInput label="Name of your copy" placeholder={c.model_name} value={forkName} onChange={(e) => setForkName(e.currentTarget.value)} />
            <Button loading={busy === "fork"} onClick={() => act("fork", async () => {
              const f = await client.fork(c.listing_id, forkName.trim() || undefined);
              setFork(f);
              return `Forked into your models as ${f.model} v${f.version}.`;
            })}>Fork</Button>
          </Group>
          {message && <Alert color="green" role="status" data-testid="card-message">{message} {fork && <Link to={`/models/${encodeURIComponent(fork.model)}`}>Open {fork.model}</Link>}</Alert>}
          <ErrorAlert error={error} />
        </Stack>
      )}
    </Modal>
  );
}

export function MarketplacePage() {
  const top = useLoad((c) => c.top(5));
  const templates = useLoad((c) => c.templates());
  const [query, setQuery] = useState({ text: "", template: "", sort: "rating" });
  const [submitted, setSubmitted] = useState(query);
  const listings = useLoad((c) => c.listings({ text: submitted.text || undefined, template: submitted.template || undefined, sort: submitted.sort, limit: 20 }), [submitted.text, submitted.template, submitted.sort]);
  const [open, setOpen] = useState<string | null>(null);
  const refresh = () => { top.reload(); listings.reload(); };

  return (
    <Stack>
      <Title order={1} size="h2">Model marketplace</Title>
      <section aria-labelledby="top-title">
        <Title order={2} size="h4" id="top-title" mb="xs">Top models this week</Title>
        {top.loading && !top.data ? <Loading /> : top.error ? <ErrorAlert error={top.error} /> : top.data!.listings.length === 0 ? (
          <Empty title="No activity this week">Share a model from its experiment page.</Empty>
        ) : (
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} data-testid="top-this-week">
            {top.data!.listings.map((e) => (
              <ListingCard key={e.listing.listing_id} listing={e.listing} onOpen={() => setOpen(e.listing.listing_id)} extra={`This week: ${e.downloads_7d} downloads, ${e.ratings_7d} ratings`} />
            ))}
          </SimpleGrid>
        )}
      </section>
      <section aria-labelledby="browse-title">
        <Title order={2} size="h4" id="browse-title" mb="xs">Browse</Title>
        <Group align="end" component="form" onSubmit={(e: React.FormEvent) => { e.preventDefault(); setSubmitted(query); }} role="search">
          <TextInput label="Search" placeholder="title or description" value={query.text} onChange={(e) => setQuery({ ...query, text: e.currentTarget.value })} />
          <Select label="Template" clearable placeholder="All templates" value={query.template || null}
            data={(templates.data?.templates ?? []).map((t) => ({ value: t.name, label: t.title }))}
            onChange={(v) => { const q = { ...query, template: v ?? "" }; setQuery(q); setSubmitted(q); }} />
          <Select label="Sort by" allowDeselect={false} value={query.sort}
            data={[{ value: "rating", label: "Rating" }, { value: "downloads", label: "Downloads" }, { value: "recent", label: "Most recent" }]}
            onChange={(v) => { const q = { ...query, sort: v ?? "rating" }; setQuery(q); setSubmitted(q); }} />
          <Button type="submit">Search</Button>
        </Group>
        <Stack mt="sm">
          {listings.loading && !listings.data ? <Loading /> : listings.error ? <ErrorAlert error={listings.error} /> : listings.data!.listings.length === 0 ? (
            <Empty title="No listings match" />
          ) : (
            <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
              {listings.data!.listings.map((l) => <ListingCard key={l.listing_id} listing={l} onOpen={() => setOpen(l.listing_id)} />)}
            </SimpleGrid>
          )}
        </Stack>
      </section>
      {open && <CardModal id={open} onClose={() => setOpen(null)} onChanged={refresh} />}
    </Stack>
  );
}
