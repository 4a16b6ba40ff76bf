# One image for all five services; SERVICE picks which one runs.
# The current Node LTS; Tally also runs on Node 22 and (past end of life) 20.19+.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY tools/register.js tools/register.js
COPY libs libs
COPY apps apps
ARG SERVICE=ingestion
ENV SERVICE=${SERVICE}
USER node
CMD ["sh", "-c", "exec node -r ./tools/register.js apps/${SERVICE}/src/main.ts"]
