import { Anchor, AppShell, Box, Burger, Button, Group, NavLink, PasswordInput, Paper, Stack, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useCallback, useMemo, useState } from "react";
import { Link, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { ApiClient } from "./api/client";
import { ApiProvider } from "./api/context";
import { clearKey, loadKey, saveKey } from "./api/key";
import { ErrorAlert } from "./components/common";
import { ComparePage } from "./pages/Compare";
import { DashboardPage } from "./pages/Dashboard";
import { DataPage } from "./pages/Data";
import { DeploymentsPage } from "./pages/Deployments";
import { ExperimentsPage } from "./pages/Experiments";
import { LivePage } from "./pages/Live";
import { MarketplacePage } from "./pages/Marketplace";
import { MonitoringPage } from "./pages/Monitoring";
import { NewModelPage } from "./pages/NewModel";

const NAV = [
  { to: "/new", label: "New model" },
  { to: "/models", label: "Experiments" },
  { to: "/compare", label: "Compare" },
  { to: "/deployments", label: "Deployments" },
  { to: "/monitoring", label: "Monitoring" },
  { to: "/live", label: "Live race" },
  { to: "/marketplace", label: "Marketplace" },
  { to: "/data", label: "Data" },
];

function Footer() {
  return (
    <Text size="xs" c="gray.7" component="p" m={0}>
      Data from{" "}
      <Anchor href="https://github.com/f1db/f1db" size="xs" target="_blank" rel="noreferrer">
        F1DB (f1db.com)
      </Anchor>
      , licensed{" "}
      <Anchor href="https://creativecommons.org/licenses/by/4.0/" size="xs" target="_blank" rel="noreferrer">
        CC BY 4.0
      </Anchor>
      . Lap data: FastF1 exports. Pitwall is not affiliated with Formula 1.
    </Text>
  );
}

function SignIn({ apiBase, onKey }: { apiBase: string; onKey: (key: string) => void }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await new ApiClient(value.trim(), apiBase).usage();
      onKey(value.trim());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Paper withBorder p="lg" maw={460} mx="auto" mt="xl" component="form" onSubmit={submit} aria-labelledby="signin-title">
      <Stack>
        <Title order={1} size="h2" id="signin-title">Pitwall Studio</Title>
        <Text size="sm">
          Enter your API key. It stays in this browser tab (session storage) and is sent only to the Pitwall API as
          the <code>x-api-key</code> header. Create one with <code>pitwall keys create --tenant NAME</code>.
        </Text>
        <PasswordInput label="API key" value={value} onChange={(e) => setValue(e.currentTarget.value)} required autoComplete="off" />
        <ErrorAlert error={error} />
        <Button type="submit" loading={busy} disabled={!value.trim()}>Sign in</Button>
      </Stack>
    </Paper>
  );
}

export function App({ apiBase }: { apiBase: string }) {
  const [key, setKey] = useState<string | null>(() => loadKey());
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const client = useMemo(() => (key ? new ApiClient(key, apiBase) : null), [key, apiBase]);
  const signOut = useCallback(() => {
    clearKey();
    setKey(null);
  }, []);
  const onKey = (value: string) => {
    saveKey(value);
    setKey(value);
  };

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 210, breakpoint: "sm", collapsed: { mobile: !opened, desktop: !client } }} padding="md">
      <a href="#main" className="skip-link">Skip to content</a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            {client && <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />}
            <Text fw={800} size="lg" component={Link} to="/new" c="inherit" style={{ textDecoration: "none" }}>
              Pitwall Studio
            </Text>
          </Group>
          {client && <Button variant="subtle" size="xs" onClick={signOut}>Sign out</Button>}
        </Group>
      </AppShell.Header>
      {client && (
        <AppShell.Navbar p="xs" component="nav" aria-label="Main">
          {NAV.map((item) => (
            <NavLink
              key={item.to}
              component={Link}
              to={item.to}
              label={item.label}
              active={location.pathname.startsWith(item.to)}
              aria-current={location.pathname.startsWith(item.to) ? "page" : undefined}
              onClick={close}
            />
          ))}
        </AppShell.Navbar>
      )}
      <AppShell.Main id="main">
        {client ? (
          <ApiProvider client={client} signOut={signOut}>
            <Routes>
              <Route path="/" element={<Navigate to="/new" replace />} />
              <Route path="/new" element={<NewModelPage />} />
              <Route path="/models" element={<ExperimentsPage />} />
              <Route path="/models/:name" element={<DashboardPage />} />
              <Route path="/compare" element={<ComparePage />} />
              <Route path="/deployments" element={<DeploymentsPage />} />
              <Route path="/monitoring" element={<MonitoringPage />} />
              <Route path="/monitoring/:name" element={<MonitoringPage />} />
              <Route path="/live" element={<LivePage />} />
              <Route path="/marketplace" element={<MarketplacePage />} />
              <Route path="/data" element={<DataPage />} />
              <Route path="*" element={<Title order={1} size="h3">Page not found</Title>} />
            </Routes>
          </ApiProvider>
        ) : (
          <SignIn apiBase={apiBase} onKey={onKey} />
        )}
        <Box component="footer" mt="xl" pt="sm" style={{ borderTop: "1px solid var(--mantine-color-gray-3)" }}>
          <Footer />
        </Box>
      </AppShell.Main>
    </AppShell>
  );
}
