import type { NextConfig } from "next";

const config: NextConfig = {
  // The image ships .next/standalone: the server and only the modules it imports.
  output: "standalone",
  // The typed client is TypeScript source, compiled with the app.
  transpilePackages: ["@todo/api-client"],
  // `next dev` behind nginx (http://127.0.0.1:8080) sees these hosts in Origin.
  allowedDevOrigins: ["127.0.0.1", "localhost"],
  poweredByHeader: false,
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
          { key: "X-Frame-Options", value: "DENY" },
        ],
      },
    ];
  },
};

export default config;
