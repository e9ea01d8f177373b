import "@mantine/core/styles.css";
import "./styles.css";
import { Anchor, MantineProvider, NavLink, createTheme } from "@mantine/core";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { App } from "./App";

// Contrast: red.9 and gray.7 meet WCAG AA (4.5:1) on white; links in text are underlined.
const theme = createTheme({
  primaryColor: "red",
  primaryShade: 9,
  defaultRadius: "md",
  components: {
    Anchor: Anchor.extend({ defaultProps: { underline: "always" } }),
    NavLink: NavLink.extend({ defaultProps: { variant: "filled" } }),
  },
});

async function apiBase(): Promise<string> {
  // config.json is written at deploy time (the CDK web stack); locally it is {"apiBase": ""}: same origin.
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (response.ok) return String((await response.json()).apiBase ?? "");
  } catch {
    /* same origin */
  }
  return "";
}

apiBase().then((base) => {
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <MantineProvider theme={theme}>
        <BrowserRouter>
          <App apiBase={base} />
        </BrowserRouter>
      </MantineProvider>
    </StrictMode>,
  );
});
